/** The device's key: Ed25519 through WebCrypto, generated non-extractable (the private key can
 * sign and never be read out, not even by this code) and kept in IndexedDB as a CryptoKey,
 * which structured clone stores as it is. The server only ever sees the public key. */

import type { DeviceStore } from "./store.js"

export function toBase64(bytes: Uint8Array): string {
  let s = ""
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), c => c.charCodeAt(0))
}

export class DeviceKey {
  private constructor(
    private readonly pair: CryptoKeyPair,
    readonly publicKeyB64: string,
  ) {}

  /** The stored key, or a new one (stored before it is returned). */
  static async load(store: DeviceStore): Promise<DeviceKey> {
    let pair = await store.get<CryptoKeyPair>("device_key")
    if (pair === undefined) {
      pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair
      await store.set("device_key", pair)
    }
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey))
    return new DeviceKey(pair, toBase64(raw))
  }

  /** A key pair made elsewhere (a demo device's key, imported non-extractable). */
  static async fromPair(store: DeviceStore, pair: CryptoKeyPair): Promise<DeviceKey> {
    await store.set("device_key", pair)
    return DeviceKey.load(store)
  }

  get extractable(): boolean {
    return this.pair.privateKey.extractable
  }

  async sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.pair.privateKey, data))
  }
}
