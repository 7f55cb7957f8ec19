/* global document */
// DOM helpers shared by the console's pages. Data goes into the page as text only (textContent
// and attributes), never as HTML, so nothing the api returns can inject markup.

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). `on<event>` attributes take handlers. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/** What each container was last drawn from (by element id). */
const drawn = new Map();

/**
 * Redraws a container from `data`, only when it changed: polling then leaves the page alone
 * between updates, and keyboard focus goes back to the control with the same data-focus key.
 */
export function redraw(container, data, build) {
  const signature = JSON.stringify(data);
  if (drawn.get(container.id) === signature) return;
  drawn.set(container.id, signature);
  const focused = document.activeElement?.getAttribute?.('data-focus');
  container.replaceChildren(...build());
  if (focused) container.querySelector(`[data-focus="${focused}"]`)?.focus();
}

/** Forgets what was drawn, so the next redraw of every container rebuilds it (after sign-out). */
export function forgetDrawn() {
  drawn.clear();
}

export function time(iso) {
  if (!iso) return '—';
  return h('time', { datetime: iso }, new Date(iso).toLocaleString());
}

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}` }, status);
}

/** A table with a caption (for screen readers), column headers and rows of cells. */
export function table({ caption, columns, rows, id }) {
  return h(
    'table',
    { class: 'data', id },
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

export function showAlert(message) {
  const alert = $('alert');
  alert.textContent = message;
  alert.hidden = !message;
}

/** Says something through the polite live region (only when it changes, so polling stays quiet). */
export function announce(message) {
  const status = $('status');
  if (status.textContent !== message) status.textContent = message;
}

/** Saves a Blob as a file through a temporary object URL. */
export function saveBlob(blob, fileName) {
  const href = URL.createObjectURL(blob);
  const link = h('a', { href, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** A labelled form field: label, control, and an optional hint tied to it by aria-describedby. */
export function field({ id, label, control, hint }) {
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  control.id = id;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
  );
}

/**
 * Shows a form's problems: each named field gets aria-invalid and its message under it, and the
 * summary (role=alert) lists them; focus goes to the first field at fault.
 */
export function showFormErrors(form, summary, errors) {
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  for (const node of form.querySelectorAll('.field-error')) node.remove();
  summary.hidden = errors.length === 0;
  summary.replaceChildren(
    ...(errors.length === 0
      ? []
      : [
          h('p', {}, 'Please correct:'),
          h(
            'ul',
            {},
            errors.map((e) => h('li', {}, e.message)),
          ),
        ]),
  );
  for (const error of errors) {
    const control = error.field ? form.querySelector(`#${error.field}`) : null;
    if (!control) continue;
    control.setAttribute('aria-invalid', 'true');
    control.closest('.field')?.append(h('p', { class: 'field-error' }, error.message));
  }
  const first = errors.find((e) => e.field && form.querySelector(`#${e.field}`));
  if (first) form.querySelector(`#${first.field}`).focus();
}
