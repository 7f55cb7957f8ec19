/**
 * Just enough of a browser for public/dashboard.js to run under Node in a test (no browser can be
 * installed on the test machines): elements with attributes, text, children, `hidden`,
 * `disabled`, `value` and click/submit listeners; the page's elements come from index.html's
 * ids. Layout, CSS and the chart (vega needs a real DOM) are out of scope.
 */
type Listener = (event: FakeEvent) => unknown;

export interface FakeEvent {
  type: string;
  currentTarget?: FakeElement;
  preventDefault(): void;
}

export class FakeText {
  constructor(public textContent: string) {}
}

export class FakeElement {
  readonly children: (FakeElement | FakeText)[] = [];
  readonly attributes = new Map<string, string>();
  private readonly listeners = new Map<string, Listener[]>();
  parent: FakeElement | null = null;
  hidden = false;
  disabled = false;
  value = '';
  clientWidth = 800;
  focused = false;

  constructor(readonly tagName: string) {}

  get id(): string {
    return this.attributes.get('id') ?? '';
  }

  get href(): string {
    return this.attributes.get('href') ?? '';
  }

  get textContent(): string {
    return this.children.map((c) => c.textContent).join('');
  }

  set textContent(text: string) {
    this.replaceChildren(text);
  }

  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
    if (name === 'disabled') this.disabled = true; // the attribute reflects, as in a browser
  }

  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }

  append(...nodes: (FakeElement | FakeText | string)[]): void {
    for (const node of nodes) {
      const child = typeof node === 'string' ? new FakeText(node) : node;
      if (child instanceof FakeElement) child.parent = this;
      this.children.push(child);
    }
  }

  replaceChildren(...nodes: (FakeElement | FakeText | string)[]): void {
    this.children.length = 0;
    this.append(...nodes);
  }

  remove(): void {
    if (!this.parent) return;
    const siblings = this.parent.children;
    siblings.splice(siblings.indexOf(this), 1);
    this.parent = null;
  }

  focus(): void {
    this.focused = true;
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  /** Runs the listeners of `type` and returns what they return (the page's handlers are async). */
  dispatch(type: string): Promise<unknown[]> {
    const event: FakeEvent = { type, currentTarget: this, preventDefault: () => undefined };
    return Promise.all((this.listeners.get(type) ?? []).map((l) => l(event)));
  }

  click(): Promise<unknown[]> {
    return this.dispatch('click');
  }

  /** Descendant elements, depth first. */
  *all(): Generator<FakeElement> {
    for (const child of this.children) {
      if (child instanceof FakeElement) {
        yield child;
        yield* child.all();
      }
    }
  }

  find(predicate: (e: FakeElement) => boolean): FakeElement[] {
    return [...this.all()].filter(predicate);
  }
}

export interface FakeBrowser {
  document: {
    hidden: boolean;
    body: FakeElement;
    getElementById(id: string): FakeElement | null;
    createElement(tag: string): FakeElement;
    addEventListener(type: string, listener: Listener): void;
  };
  byId(id: string): FakeElement;
  sessionStorage: Map<string, string> & {
    getItem(k: string): string | null;
    setItem(k: string, v: string): void;
    removeItem(k: string): void;
  };
  location: { hash: string; pathname: string };
  history: { replaceState(state: unknown, title: string, url: string): void };
}

/** A fake document holding an element for every `id="..."` of `html` (with its `hidden`). */
export function fakeBrowser(html: string): FakeBrowser {
  const byId = new Map<string, FakeElement>();
  for (const match of html.matchAll(/<([a-z0-9]+)\b([^>]*?)\bid="([^"]+)"([^>]*)>/g)) {
    const [, tag, before, id, after] = match;
    const element = new FakeElement(tag.toUpperCase());
    element.setAttribute('id', id);
    element.hidden = /\shidden\b/.test(`${before} ${after}`);
    byId.set(id, element);
  }
  const body = new FakeElement('BODY');
  const docListeners = new FakeElement('#document');
  const storage = new Map<string, string>() as FakeBrowser['sessionStorage'];
  storage.getItem = (k) => storage.get(k) ?? null;
  storage.setItem = (k, v) => void storage.set(k, v);
  storage.removeItem = (k) => void storage.delete(k);
  const location = { hash: '', pathname: '/dashboard' };
  return {
    document: {
      hidden: false,
      body,
      getElementById: (id) => byId.get(id) ?? null,
      createElement: (tag) => new FakeElement(tag.toUpperCase()),
      addEventListener: (type, listener) => docListeners.addEventListener(type, listener),
    },
    byId(id) {
      const element = byId.get(id);
      if (!element) throw new Error(`index.html has no element #${id}`);
      return element;
    },
    sessionStorage: storage,
    location,
    history: {
      replaceState(_state, _title, url) {
        const hash = url.indexOf('#');
        location.hash = hash === -1 ? '' : url.slice(hash);
      },
    },
  };
}
