import { defineConfig } from "vitest/config"

// test/server/ runs against a real server that tests/test_js_sdk.py starts (SOTAY_SERVER).
export default defineConfig({
  test: {
    include: process.env.SOTAY_SERVER ? ["test/**/*.test.ts"] : ["test/**/*.test.ts"],
    exclude: process.env.SOTAY_SERVER ? ["node_modules/**"] : ["node_modules/**", "test/server/**"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
})
