// The device key: Ed25519 through WebCrypto, made once, never readable, kept in IndexedDB.

import { describe, expect, test } from "vitest"
import { DeviceKey, fromBase64 } from "../../src/sdk/identity.js"
import { DeviceStore } from "../../src/sdk/store.js"

describe("device key", () => {
  test("is made once, kept, non-extractable, and its signatures verify with the public key", async () => {
    const store = await DeviceStore.open(`identity-${Math.random()}`)
    const key = await DeviceKey.load(store)
    expect(key.extractable).toBe(false)
    expect(fromBase64(key.publicKeyB64)).toHaveLength(32)
    const again = await DeviceKey.load(store)
    expect(again.publicKeyB64).toBe(key.publicKeyB64)
    const pair = await store.get<CryptoKeyPair>("device_key")
    await expect(crypto.subtle.exportKey("pkcs8", pair!.privateKey)).rejects.toThrow()
    const nonce = crypto.getRandomValues(new Uint8Array(32))
    const signature = await key.sign(nonce)
    expect(await crypto.subtle.verify({ name: "Ed25519" }, pair!.publicKey, signature as Uint8Array<ArrayBuffer>, nonce)).toBe(true)
  })
})
