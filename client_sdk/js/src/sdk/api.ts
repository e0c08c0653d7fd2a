/** The server's HTTP routes the device uses: sign-in by key (challenge, token), who am I,
 * enrolment by face, a document's heads on the server, attachment uploads. Errors come back as
 * the server's error object, turned into a SotayError with its code and words. */

import { SotayError } from "../rules/errors.js"
import { fromBase64, toBase64, type DeviceKey } from "./identity.js"

export interface Me {
  person_id: string
  device_id: string
  held?: boolean
  cells: Record<string, { roles: string[]; documents: Record<string, string> }>
}

export interface Enrolled {
  device_id: string
  member_id: string
  cell_id: string
  held: boolean
  token: string
  expires_at: string
}

async function refusal(response: Response): Promise<SotayError> {
  try {
    const body = (await response.json()) as { error?: { code: string; message_vi: string; message_en: string } }
    if (body.error) return new SotayError(body.error.code, body.error.message_vi, body.error.message_en)
  } catch {
    // not JSON
  }
  return new SotayError("server_refused", `Máy chủ từ chối (HTTP ${response.status}).`, `The server refused (HTTP ${response.status}).`)
}

export const unreachable = () =>
  new SotayError("offline", "Không kết nối được máy chủ.", "The server cannot be reached.")

export class Api {
  private token: { value: string; expires: number } | null = null

  constructor(
    readonly base: string,
    /** No call waits longer (a dead link must not hang the app); enrolment gets 4 times this. */
    readonly timeoutMs = 20_000,
  ) {}

  /** One bounded request; an answer that is not a success becomes the server's refusal. */
  private async request(path: string, init: RequestInit = {}, auth = false): Promise<Response> {
    const headers = new Headers(init.headers)
    if (auth) headers.set("Authorization", `Bearer ${await this.currentToken()}`)
    let response: Response
    try {
      response = await fetch(this.base + path, { signal: AbortSignal.timeout(this.timeoutMs), ...init, headers, cache: "no-store" })
    } catch {
      throw unreachable()
    }
    if (!response.ok) throw await refusal(response)
    return response
  }

  private async call<T>(path: string, init: RequestInit = {}, auth = false): Promise<T> {
    return (await (await this.request(path, init, auth)).json()) as T
  }

  private key: { deviceId: string; key: DeviceKey } | null = null

  signInAs(deviceId: string, key: DeviceKey): void {
    this.key = { deviceId, key }
  }

  /** A token with at least a minute left: a device keeps it rather than signing in each time
   * (challenges are limited per device). */
  async currentToken(): Promise<string> {
    if (this.token && this.token.expires - Date.now() > 60_000) return this.token.value
    if (this.key === null) {
      throw new SotayError("no_device_identity", "Thiết bị chưa được đăng ký (chưa có khóa thiết bị).", "This device is not enrolled yet (no device key).")
    }
    const json = { "Content-Type": "application/json" }
    const { nonce } = await this.call<{ nonce: string }>("/api/auth/challenge", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ device_id: this.key.deviceId }),
    })
    const signature = toBase64(await this.key.key.sign(fromBase64(nonce)))
    const answer = await this.call<{ token: string; expires_at: string }>("/api/auth/token", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ device_id: this.key.deviceId, nonce, signature }),
    })
    this.token = { value: answer.token, expires: Date.parse(answer.expires_at) }
    return answer.token
  }

  useToken(value: string, expiresAt: string): void {
    this.token = { value, expires: Date.parse(expiresAt) }
  }

  forgetToken(): void {
    this.token = null
  }

  me(): Promise<Me> {
    return this.call<Me>("/api/me", {}, true)
  }

  enrol(cardNumber: string, publicKeyB64: string, cardPhoto: Blob, selfie: Blob): Promise<Enrolled> {
    const form = new FormData()
    form.set("card_number", cardNumber)
    form.set("public_key", publicKeyB64)
    form.set("card_photo", cardPhoto, "card.jpg")
    form.set("selfie", selfie, "selfie.jpg")
    return this.call<Enrolled>("/api/enroll", { method: "POST", body: form, signal: AbortSignal.timeout(this.timeoutMs * 4) })
  }

  /** A one-time code for the officials' dashboard (docs/dashboard.md): the person types it
   * into a browser, and this device's key vouches for them, so no password exists. */
  webSignInCode(): Promise<{ code: string; expires_at: string }> {
    return this.call("/api/web/codes", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }, true)
  }

  async serverHeads(documentId: string): Promise<string[]> {
    return (await this.call<{ heads: string[] }>(`/api/documents/${documentId}`, {}, true)).heads
  }

  /** A picture's small copy (longest edge 320 px, location removed) from the server, for a
   * list on a phone: the original may be megabytes over a slow link. */
  async thumbnail(cellId: string, sha256: string): Promise<Blob> {
    return await (await this.request(`/api/cells/${encodeURIComponent(cellId)}/blobs/${sha256}?variant=thumbnail`, {}, true)).blob()
  }

  /** Send an attachment's bytes (resumable: HEAD says how much the server has). */
  async upload(cellId: string, sha256: string, bytes: Uint8Array, chunk = 256 * 1024): Promise<void> {
    const url = `${this.base}/api/cells/${cellId}/blobs/${sha256}`
    const auth = { Authorization: `Bearer ${await this.currentToken()}` }
    let offset = 0
    const limit = () => AbortSignal.timeout(this.timeoutMs * 3)
    const head = await fetch(url, { method: "HEAD", headers: auth, cache: "no-store", signal: limit() }).catch(() => null)
    if (head === null) throw unreachable()
    if (head.ok) {
      if (head.headers.get("Blob-State") === "complete") return
      offset = Number(head.headers.get("Upload-Offset") ?? 0)
    }
    while (offset < bytes.length) {
      const body = bytes.slice(offset, offset + chunk)
      const response = await fetch(url, {
        method: "PATCH",
        headers: { ...auth, "Upload-Offset": String(offset), "Upload-Length": String(bytes.length) },
        body,
        signal: limit(),
      }).catch(() => null)
      if (response === null) throw unreachable()
      if (!response.ok) throw await refusal(response)
      offset = response.status === 201 ? bytes.length : Number(response.headers.get("Upload-Offset") ?? offset + body.length)
    }
  }
}
