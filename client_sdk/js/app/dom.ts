/** A few lines instead of a framework: elements from a tag, attributes and children. */

type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined | null>

export function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, ""), value)
    else if (value === true) el.setAttribute(key, "")
    else el.setAttribute(key, String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(typeof child === "string" ? document.createTextNode(child) : child)
  }
  return el
}

/** A labelled form field (the label names the input for screen readers and for tests). */
export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`
  input.id = id
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", {}, hint) : null)
}

export function select(name: string, options: [string, string][], value?: string): HTMLSelectElement {
  const el = h("select", { name }) as HTMLSelectElement
  for (const [code, text] of options) {
    const option = h("option", { value: code }, text) as HTMLOptionElement
    if (code === value) option.selected = true
    el.append(option)
  }
  return el
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of new FormData(form).entries()) if (typeof v === "string") out[k] = v.trim()
  return out
}
