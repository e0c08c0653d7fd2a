/** A photo of handwritten minutes, made safe to share: drawn again into a JPEG (at most
 * 2,048 px on its longest side), which leaves every piece of metadata behind (GPS, phone
 * model, dates), then named by its SHA-256 as the meeting records it. */

export interface CleanPhoto {
  bytes: Uint8Array
  sha256: string
  mimeType: "image/jpeg"
}

const MAX_EDGE = 2048

export async function cleanPhoto(file: Blob): Promise<CleanPhoto> {
  const bitmap = await createImageBitmap(file) // applies the EXIF orientation
  const scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height))
  const canvas = document.createElement("canvas")
  canvas.width = Math.round(bitmap.width * scale)
  canvas.height = Math.round(bitmap.height * scale)
  canvas.getContext("2d")!.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
  bitmap.close()
  const blob = await new Promise<Blob>((resolve, reject) =>
    canvas.toBlob(b => (b ? resolve(b) : reject(new Error("no JPEG"))), "image/jpeg", 0.85),
  )
  const bytes = new Uint8Array(await blob.arrayBuffer())
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))
  return { bytes, sha256: Array.from(digest, b => b.toString(16).padStart(2, "0")).join(""), mimeType: "image/jpeg" }
}

/** The one splice that turns ``before`` into ``after`` (common start and end kept), in
 * characters: typing in the minutes merges with another secretary's typing. */
export function textSplice(before: string, after: string): { index: number; delete: number; insert: string } | null {
  const a = Array.from(before)
  const b = Array.from(after)
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let end = 0
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++
  if (start === a.length && start === b.length) return null
  return { index: start, delete: a.length - start - end, insert: b.slice(start, b.length - end).join("") }
}
