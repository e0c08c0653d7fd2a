/** The photos of a cell's meetings as a phone shows them, offline too: a photo taken on this
 * phone from its own bytes; one another phone took from the server's small copy (320 px, no
 * location), fetched once while online and kept in the device's store. A secretary who opens
 * last month's minutes in a village with no signal sees the picture the deputy sent. */

import type { Api } from "./api.js"
import type { DeviceStore } from "./store.js"
import type { Meeting } from "./readers.js"

/** Whether an attachment is shown as a picture (a PDF is listed by name). */
export function isPicture(attachment: { mime_type: string }): boolean {
  return attachment.mime_type.startsWith("image/")
}

export class Pictures {
  private keeping = false
  // Photos known to be on this device: each change runs keepAll, which then reads nothing again.
  private readonly here = new Set<string>()

  constructor(
    private readonly store: DeviceStore,
    private readonly api: Api,
  ) {}

  /** The photo's bytes if this device has them (its own, or a kept copy); null otherwise. */
  async kept(cellId: string, sha256: string): Promise<Blob | null> {
    const found = (await this.store.upload(sha256, cellId)) ?? (await this.store.picture(sha256))
    if (found === undefined) return null
    this.here.add(sha256)
    return new Blob([found.bytes as Uint8Array<ArrayBuffer>], { type: found.mimeType })
  }

  /** The photo, fetching and keeping the server's small copy when this device has none. */
  async get(cellId: string, sha256: string): Promise<Blob> {
    return (await this.kept(cellId, sha256)) ?? (await this.fetchCopy(cellId, sha256))
  }

  private async fetchCopy(cellId: string, sha256: string): Promise<Blob> {
    const blob = await this.api.thumbnail(cellId, sha256)
    await this.store.putPicture({ sha256, mimeType: blob.type || "image/jpeg", bytes: new Uint8Array(await blob.arrayBuffer()) })
    this.here.add(sha256)
    return blob
  }

  /** Keep a copy of every photo of these meetings that this device lacks, one at a time (a
   * slow link is not flooded); stops at the first failure (offline, or a file its phone has not
   * sent yet) and is called again after the next sync. Returns how many it fetched. */
  async keepAll(cellId: string, meetings: Meeting[]): Promise<number> {
    if (this.keeping) return 0
    this.keeping = true
    let fetched = 0
    try {
      for (const m of meetings) {
        for (const a of m.attachments) {
          if (!isPicture(a) || this.here.has(a.sha256) || (await this.kept(cellId, a.sha256))) continue
          await this.fetchCopy(cellId, a.sha256)
          fetched += 1
        }
      }
    } catch {
      // the next sync tries again
    } finally {
      this.keeping = false
    }
    return fetched
  }
}
