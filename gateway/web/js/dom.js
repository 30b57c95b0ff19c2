// Small DOM and formatting helpers shared by the steps.

import { mediaUrl } from './api.js';

/**
 * h('button', {class: 'primary', onclick: f}, 'Save') builds an element. `style` takes an
 * object (set through CSSOM: the page's CSP forbids style attributes); `false`, null and
 * undefined attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === 'style') {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else if (name.startsWith('on')) {
      el.addEventListener(name.slice(2), value);
    } else if (name in el) {
      el[name] = value; // properties: value, checked, disabled, hidden, href, ...
    } else {
      el.setAttribute(name, value === true ? '' : value);
    }
  }
  el.append(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

/**
 * A step's section: its heading (focused when the step opens; never redrawn, so focus and
 * screen readers stay put) and the body the step redraws.
 */
export function stepView(kind, title) {
  const body = h('div', { class: 'step-body' });
  const el = h('section', { class: `step-view ${kind}`, 'aria-labelledby': 'step-title' },
    h('h2', { id: 'step-title', tabindex: '-1' }, title), body);
  return { el, body };
}

/** Replaces `container`'s children, keeping focus on the element with the same id. */
export function rerender(container, ...children) {
  const focused = container.contains(document.activeElement) ? document.activeElement.id : '';
  container.replaceChildren(...children.flat().filter((c) => c != null && c !== false));
  if (focused) document.getElementById(focused)?.focus();
}

export function money(micros) {
  return `$${(Number(micros || 0) / 1e6).toFixed(2)}`;
}

export function seconds(value) {
  return `${Number(value || 0).toFixed(1)} s`;
}

export function bytes(count) {
  const n = Number(count || 0);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The text after a proto enum's prefix, readable: AD_STEP_CHOOSE_MOOD → "choose mood". */
export function enumText(value, prefix) {
  return String(value || '').replace(prefix, '').replaceAll('_', ' ').toLowerCase();
}

/** An <img> or <video> whose source is a gateway path (fetched with the API key if one is set). */
export function media(tag, path, attrs = {}) {
  const el = h(tag, attrs);
  if (path) {
    mediaUrl(path).then((url) => { el.src = url; }, () => el.classList.add('broken'));
  }
  return el;
}

/** Shows an API error (message and per-field problems) in `box`, or clears it. */
export function showError(box, error) {
  box.replaceChildren();
  if (!error) return;
  const problems = error.violations || [];
  box.append(h('p', {}, problems.length ? 'The server refused this:' : error.message));
  if (problems.length) {
    box.append(h('ul', {}, problems.map((v) => h('li', {}, `${v.field}: ${v.description}`))));
  }
  box.scrollIntoView({ block: 'nearest' });
}

/** A labelled <select> of [value, text] choices: its label and the control, to spread into a form. */
export function select(id, label, choices, chosen) {
  return [h('label', { for: id }, label),
    h('select', { id }, choices.map(([v, text]) => h('option', { value: v, selected: v === chosen }, text)))];
}

export function errorBox(id) {
  return h('div', { class: 'error', id, role: 'alert' });
}

/** Runs an action from a button: disabled while it runs, its error shown in `box`. */
export async function act(button, box, action) {
  button.disabled = true;
  showError(box, null);
  try {
    return await action();
  } catch (error) {
    showError(box, error);
    return undefined;
  } finally {
    button.disabled = false;
  }
}

export function reducedMotion() {
  return window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}
