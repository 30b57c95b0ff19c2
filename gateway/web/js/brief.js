// Step 1, vision & brief: a chat with the planner (streamed Converse tokens), the brief it
// extracts as an editable summary card, or a brief file; then the ad is created.

import { call, stream, upload } from './api.js';
import { CAPTIONS, HEIGHTS, PLATFORMS, platformName } from './choices.js';
import { act, errorBox, h, media, money, select, showError, stepView } from './dom.js';

const TEXT_FIELDS = [
  ['productName', 'Product name'],
  ['productDescription', 'Description'],
  ['targetAudience', 'Audience'],
  ['tone', 'Tone'],
  ['callToAction', 'Call to action'],
  ['voice', 'Voice-over'],
];
const REQUIRED = ['productName', 'productDescription', 'targetAudience', 'tone', 'callToAction'];
const LIST_FIELDS = [
  ['visualStyleKeywords', 'Style keywords'],
  ['keyMessages', 'Key messages'],
];
const ASPECTS = [['ASPECT_RATIO_9_16', '9:16 vertical'], ['ASPECT_RATIO_1_1', '1:1 square'],
  ['ASPECT_RATIO_16_9', '16:9 landscape']];

const ASPECT_OF_PLATFORM = {
  tiktok: 'ASPECT_RATIO_9_16', reels: 'ASPECT_RATIO_9_16', shorts: 'ASPECT_RATIO_9_16',
  square: 'ASPECT_RATIO_1_1', landscape: 'ASPECT_RATIO_16_9',
};
const MAX_PRODUCT_IMAGES = 4;
const ARTIFACT_ID = /^[0-9a-f]{64}$/;

/** Thumbnails of uploaded files (artifact ids); a URL is shown as text (the page loads only
 * its own origin's images). */
function previews(refs, label) {
  return refs.map((ref, i) => (ARTIFACT_ID.test(ref)
    ? media('img', `/api/artifacts/${ref}`, { alt: `${label} ${i + 1}`, class: 'preview' })
    : h('span', { class: 'preview-url' }, ref)));
}

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const LOGO_TYPES = ['image/png', 'image/webp', 'image/svg+xml'];
const FONT_TYPES = ['font/ttf', 'font/otf'];
const MAX_COLOURS = 6;
const MAX_TONE_WORDS = 10;
const COLOUR = /^#[0-9a-fA-F]{6}$/;

function words(text) {
  return text.split(',').map((t) => t.trim()).filter(Boolean);
}

/**
 * A file input whose files are uploaded at once (POST /api/artifacts): the gateway's refusal
 * (wrong type, too large, not a real picture or font) or a file of the wrong kind for the
 * field is shown in the field's own error box, right under it. `done(ids)` gets the artifact
 * ids of the files kept; the field shows them (pictures as thumbnails, fonts by name).
 */
function fileField(id, label, { types, most = 1, kind, done }) {
  const input = h('input', { id, type: 'file', multiple: most > 1, accept: types.join(','),
    'aria-describedby': `${id}-error` });
  const shown = h('div', { class: 'previews', id: `${id}-preview` });
  const problem = errorBox(`${id}-error`);
  input.addEventListener('change', () => act(input, problem, async () => {
    input.removeAttribute('aria-invalid');
    const files = [...input.files].slice(0, most);
    try {
      const stored = await Promise.all(files.map((file) => upload(file).catch((error) => {
        error.message = `${file.name}: ${error.message}`; // which file, when there are several
        throw error;
      })));
      const wrong = stored.findIndex((artifact) => !types.includes(artifact.mimeType));
      if (wrong >= 0) {
        throw new Error(`${files[wrong].name} is ${stored[wrong].mimeType}: ${kind} must be `
          + `${types.map((t) => t.split('/')[1].replace('+xml', '').toUpperCase()).join(' or ')}.`);
      }
      done(stored.map((artifact) => artifact.id));
      shown.replaceChildren(...(types === FONT_TYPES
        ? files.map((file) => h('span', { class: 'preview-url' }, `✓ ${file.name}`))
        : previews(stored.map((artifact) => artifact.id), label)));
    } catch (error) {
      input.setAttribute('aria-invalid', 'true');
      input.value = '';
      throw error;
    }
  }));
  return [h('label', { for: id }, label), input, shown, problem];
}

/**
 * The brand kit (name, logo, colours, fonts, tone words) and the product photos, sent with the
 * brief as `brief.brand` and `brief.productImages` (files as artifact ids).
 */
function BrandFields() {
  const brand = { name: '', logo: '', palette: [], headingFont: '', bodyFont: '', toneWords: [] };
  let products = [];
  const swatches = h('span', { class: 'swatches', id: 'brand-palette-swatches', 'aria-hidden': 'true' });
  const paletteProblem = errorBox('brand-palette-error');
  const palette = h('input', { id: 'brand-palette', placeholder: '#1d4ed8, #f59e0b',
    'aria-describedby': 'brand-palette-hint brand-palette-error',
    oninput: (e) => {
      const colours = words(e.target.value);
      const bad = colours.filter((c) => !COLOUR.test(c));
      const problems = [...bad.map((c) => `"${c}" is not a colour as #RRGGBB`),
        ...(colours.length > MAX_COLOURS ? [`at most ${MAX_COLOURS} colours (${colours.length} given)`] : [])];
      paletteProblem.replaceChildren(...problems.map((p) => h('p', {}, p)));
      if (problems.length) palette.setAttribute('aria-invalid', 'true');
      else palette.removeAttribute('aria-invalid');
      brand.palette = problems.length ? [] : colours;
      swatches.replaceChildren(...colours.filter((c) => COLOUR.test(c)).map((c) => h('span', {
        class: 'swatch', title: c, style: { 'background-color': c } })));
    } });
  const el = h('fieldset', { class: 'brand-kit' }, h('legend', {}, 'Brand (optional)'),
    h('label', { for: 'brand-name' }, 'Brand name'),
    h('input', { id: 'brand-name', oninput: (e) => { brand.name = e.target.value; } }),
    fileField('brand-logo', 'Logo (PNG, WebP or SVG)', {
      types: LOGO_TYPES, kind: 'a logo', done: ([id = '']) => { brand.logo = id; } }),
    h('label', { for: 'brand-palette' }, `Brand colours (up to ${MAX_COLOURS}, the main colour first)`),
    h('p', { class: 'hint', id: 'brand-palette-hint' }, 'As #RRGGBB, separated by commas; none: the mood\'s colours.'),
    h('div', { class: 'palette-row' }, palette, swatches), paletteProblem,
    fileField('brand-heading-font', 'Heading font (TTF or OTF)', {
      types: FONT_TYPES, kind: 'a font', done: ([id = '']) => { brand.headingFont = id; } }),
    fileField('brand-body-font', 'Body font (TTF or OTF)', {
      types: FONT_TYPES, kind: 'a font', done: ([id = '']) => { brand.bodyFont = id; } }),
    h('label', { for: 'brand-tone-words' }, `Brand tone words (up to ${MAX_TONE_WORDS}, separated by commas)`),
    h('input', { id: 'brand-tone-words', placeholder: 'bold, warm',
      oninput: (e) => { brand.toneWords = words(e.target.value); } }),
    fileField('product-images', `Product photos (up to ${MAX_PRODUCT_IMAGES}, the hero shot first)`, {
      types: IMAGE_TYPES, most: MAX_PRODUCT_IMAGES, kind: 'a product photo',
      done: (ids) => { products = ids; } }));

  /** The brief with the brand's parts that were given. */
  function addTo(brief) {
    const full = { ...brief };
    const kit = Object.fromEntries(Object.entries(brand).filter(([, v]) => v.length));
    if (Object.keys(kit).length) full.brand = kit;
    if (products.length) full.productImages = products;
    return full;
  }
  return { el, addTo };
}

function emptyBrief() {
  return {
    productName: '', productDescription: '', targetAudience: '', tone: '', callToAction: '',
    voice: '', visualStyleKeywords: [], keyMessages: [], durationSeconds: 0,
  };
}

function tags(values) {
  return h('ul', { class: 'tags' }, values.map((v) => h('li', {}, v)));
}

function splitTone(tone) {
  return tone.split(',').map((t) => t.trim()).filter(Boolean);
}

/** The summary card's read-only face: tags for tone and style keywords, bullets for messages. */
function summary(brief) {
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h('dl', { class: 'summary' },
    row('Product', brief.productName || '—'),
    row('Description', brief.productDescription || '—'),
    row('Audience', brief.targetAudience || '—'),
    row('Tone', brief.tone ? tags(splitTone(brief.tone)) : '—'),
    row('Style keywords', brief.visualStyleKeywords.length ? tags(brief.visualStyleKeywords) : '—'),
    row('Key messages', brief.keyMessages.length
      ? h('ul', { class: 'bullets' }, brief.keyMessages.map((m) => h('li', {}, m))) : '—'),
    row('Call to action', brief.callToAction || '—'),
    row('Length', brief.durationSeconds ? `${brief.durationSeconds} s` : '30 s (default)'),
    row('Voice-over', brief.voice || 'default voice'),
    brief.brand ? row('Brand', h('span', { class: 'previews' }, brief.brand.name || '',
      previews(brief.brand.logo ? [brief.brand.logo] : [], 'Logo'),
      (brief.brand.palette || []).map((c) => h('span', { class: 'swatch', title: c, style: { 'background-color': c } })),
      brief.brand.headingFont || brief.brand.bodyFont ? h('span', {}, 'own fonts') : null,
      brief.brand.toneWords?.length ? tags(brief.brand.toneWords) : null)) : null,
    brief.productImages?.length
      ? row('Product photos', h('span', { class: 'previews' }, previews(brief.productImages, 'Product photo')))
      : null);
}

/** A brief file: JSON, or the flat YAML of examples/brief.yaml (scalars, lists, folded text). */
export function parseBriefFile(text) {
  try {
    return JSON.parse(text);
  } catch {
    // not JSON: read it as YAML below
  }
  const unquote = (v) => v.trim().replace(/^(["'])(.*)\1$/, '$2');
  const out = {};
  let key = null;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const top = line.match(/^([A-Za-z_]\w*)\s*:\s*(.*)$/);
    const item = line.match(/^\s+-\s+(.*)$/);
    if (top) {
      key = top[1];
      const value = top[2].trim();
      if (value.startsWith('[')) out[key] = value.slice(1, -1).split(',').map(unquote).filter(Boolean);
      else out[key] = /^[>|]-?$/.test(value) ? '' : unquote(value);
    } else if (item && key) {
      out[key] = [...(Array.isArray(out[key]) ? out[key] : []), unquote(item[1])];
    } else if (key && typeof out[key] === 'string') {
      out[key] = `${out[key]} ${line.trim()}`.trim();
    }
  }
  return out;
}

function camel(name) {
  return name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
}

/** A parsed file's known fields, as the brief's (snake_case or camelCase keys). */
function briefFromFile(data) {
  const brief = emptyBrief();
  for (const [name, value] of Object.entries(data || {})) {
    const field = camel(name);
    if (!(field in brief) || value == null) continue;
    if (Array.isArray(brief[field])) brief[field] = [].concat(value).map(String);
    else if (field === 'durationSeconds') brief[field] = Number(value) || 0;
    else brief[field] = String(value);
  }
  return brief;
}

/** The new-ad page: chat, summary card, options, estimate, create. */
export function NewAdView(studio) {
  const messages = [];
  let brief = emptyBrief();
  const edited = new Set(); // fields typed or loaded by hand: later extractions keep them
  let requestId = newRequestId();
  const brandFields = BrandFields();

  const log = h('ol', { class: 'messages', role: 'log', 'aria-label': 'Conversation' });
  const empty = h('p', { class: 'empty' },
    'Tell the planner about your product: what it is, who it is for, the feel you want.');
  const input = h('textarea', { id: 'chat-input', rows: 3, required: true });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const chatError = errorBox('chat-error');
  const fileInput = h('input', { id: 'brief-file', type: 'file', accept: '.yaml,.yml,.json,.txt' });
  const card = h('div', { class: 'card-body' });
  const missing = h('div', { class: 'missing', 'aria-live': 'polite' });
  const editButton = h('button', { type: 'button', id: 'edit-brief' }, 'Edit');
  const estimate = h('p', { class: 'estimate', id: 'estimate', 'aria-live': 'polite' });
  const createError = errorBox('create-error');
  const create = h('button', { type: 'submit', class: 'primary', id: 'create-ad' }, 'Create the ad');
  let editing = false;

  const options = h('details', { class: 'options' }, h('summary', {}, 'Options'),
    h('div', { class: 'fields' },
      ...select('opt-aspect', 'Aspect ratio', ASPECTS, 'ASPECT_RATIO_9_16'),
      ...select('opt-tier', 'Quality', [['TIER_UNSPECIFIED', "The studio's default"],
        ['TIER_DRAFT', 'Draft'], ['TIER_PRODUCTION', 'Production']], 'TIER_UNSPECIFIED'),
      ...select('opt-height', 'Render height', HEIGHTS, ''),
      ...select('opt-captions', 'Captions', CAPTIONS, CAPTIONS[0][0]),
      h('label', { for: 'opt-fps' }, 'Frames per second'),
      h('input', { id: 'opt-fps', type: 'number', min: 1, max: 60, placeholder: '30' })),
    h('fieldset', { class: 'choices', id: 'opt-platforms', 'aria-describedby': 'opt-platforms-hint' },
      h('legend', {}, 'Platforms'),
      PLATFORMS.map(([value, text]) => h('label', { class: 'check', for: `opt-platform-${value}` },
        h('input', { type: 'checkbox', name: 'opt-platforms', id: `opt-platform-${value}`, value,
          checked: value === 'tiktok', onchange: matchAspect }), ` ${text}`)),
      h('p', { class: 'hint', id: 'opt-platforms-hint' }, 'One render for each, in its frame shape '
        + 'and clear of its buttons. The clips are made in the aspect ratio above (set to the '
        + 'platforms\' shape when they share one) and cropped for the others.')),
    h('label', { class: 'check' },
      h('input', { id: 'opt-gates', type: 'checkbox', checked: true }),
      ' Stop for me to choose the mood and approve the storyboard'));

  function platforms() {
    return [...options.querySelectorAll('input[name="opt-platforms"]:checked')].map((box) => box.value);
  }

  /** Ticked platforms that share a frame shape make it the ad's aspect ratio. */
  function matchAspect() {
    const shapes = new Set(platforms().map((p) => ASPECT_OF_PLATFORM[p]));
    const [shape] = shapes;
    if (shapes.size === 1 && shape) document.getElementById('opt-aspect').value = shape;
  }

  function newRequestId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function addMessage(role, text) {
    empty.remove();
    const body = h('p', {}, text);
    log.append(h('li', { class: `message ${role}` },
      h('span', { class: 'who' }, role === 'user' ? 'You' : 'Planner'), body));
    log.scrollTop = log.scrollHeight;
    return body;
  }

  function renderCard() {
    card.replaceChildren(editing ? form() : summary(brief));
    editButton.textContent = editing ? 'Done' : 'Edit';
    editButton.setAttribute('aria-expanded', String(editing));
    refreshCreate();
  }

  function refreshCreate() {
    create.disabled = REQUIRED.some((f) => !brief[f].trim());
  }

  function form() {
    const fields = TEXT_FIELDS.map(([name, label]) => {
      const id = `brief-${name}`;
      const tag = name === 'productDescription' ? 'textarea' : 'input';
      return [h('label', { for: id }, label), h(tag, {
        id, value: brief[name],
        oninput: (e) => { brief[name] = e.target.value; edited.add(name); refreshCreate(); },
        placeholder: name === 'voice' ? 'empty: the default voice; "none": no voice-over' : false,
      })];
    });
    const lists = LIST_FIELDS.map(([name, label]) => {
      const id = `brief-${name}`;
      return [h('label', { for: id }, `${label} (one per line)`), h('textarea', {
        id, rows: 3, value: brief[name].join('\n'),
        oninput: (e) => {
          brief[name] = e.target.value.split('\n').map((s) => s.trim()).filter(Boolean);
          edited.add(name);
        },
      })];
    });
    const duration = [h('label', { for: 'brief-durationSeconds' }, 'Length (seconds, 6–120)'),
      h('input', {
        id: 'brief-durationSeconds', type: 'number', min: 6, max: 120, step: 1,
        value: brief.durationSeconds || '',
        oninput: (e) => { brief.durationSeconds = Number(e.target.value) || 0; edited.add('durationSeconds'); },
      })];
    return h('div', { class: 'fields' }, fields, lists, duration);
  }

  function mergeExtracted(extracted, missingFields) {
    const next = { ...emptyBrief(), ...extracted };
    for (const field of Object.keys(brief)) if (!edited.has(field)) brief[field] = next[field];
    missing.replaceChildren();
    const open = missingFields.filter((m) => !brief[camel(m.field)]?.trim());
    if (open.length) {
      missing.append(h('p', {}, 'Still missing:'),
        h('ul', {}, open.map((m) => h('li', {}, m.question))));
    } else {
      missing.append(h('p', { class: 'ok' }, '✓ The brief has everything the ad needs.'));
    }
    renderCard();
  }

  async function converse(text) {
    messages.push({ role: 'ROLE_USER', content: text });
    const asked = addMessage('user', text);
    const reply = addMessage('assistant', '');
    reply.classList.add('streaming');
    let answer = '';
    try {
      await stream('POST', '/api/brief/converse', {
        body: { messages },
        onMessage: (m) => { answer += m.delta || ''; reply.textContent = answer; },
      });
    } catch (error) {
      messages.pop(); // not answered: the message goes back into the box to be sent again
      asked.closest('li').remove();
      reply.closest('li').remove();
      input.value = text;
      throw error;
    } finally {
      reply.classList.remove('streaming');
    }
    messages.push({ role: 'ROLE_ASSISTANT', content: answer });
    const extracted = await call('POST', '/api/brief/extract', { messages });
    mergeExtracted(extracted.brief || {}, extracted.missing || []);
  }

  async function loadFile() {
    const file = fileInput.files[0];
    if (!file) return;
    brief = briefFromFile(parseBriefFile(await file.text()));
    Object.keys(brief).forEach((f) => edited.add(f));
    mergeExtracted(brief, []);
  }

  function request() {
    const value = (id) => document.getElementById(id).value;
    const gates = document.getElementById('opt-gates').checked;
    const render = {};
    if (value('opt-height')) render.height = Number(value('opt-height'));
    if (value('opt-fps')) render.fps = Number(value('opt-fps'));
    render.captions = value('opt-captions');
    if (platforms().length) render.platforms = platforms();
    return {
      brief: brandFields.addTo(brief),
      options: {
        aspectRatio: value('opt-aspect'), tier: value('opt-tier'), render,
        gateMood: gates, gateStoryboard: gates,
      },
    };
  }

  async function quote() {
    try {
      const answer = await call('POST', '/api/ads/estimate', request());
      estimate.textContent = `Estimated cost: at most ${money(answer.estimatedCostMicros)}`;
    } catch (error) {
      estimate.textContent = '';
    }
  }

  const chat = h('form', { class: 'chat-form', onsubmit: (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    act(send, chatError, () => converse(text));
  } },
  h('label', { for: 'chat-input' }, 'Message'), input,
  h('p', { class: 'hint', id: 'chat-hint' }, 'Enter sends, Shift+Enter starts a new line.'),
  send, chatError);
  input.setAttribute('aria-describedby', 'chat-hint');
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      chat.requestSubmit();
    }
  });
  fileInput.addEventListener('change', () => loadFile().catch((error) => showError(chatError, error)));
  editButton.addEventListener('click', () => { editing = !editing; renderCard(); quote(); });
  const briefForm = h('form', { class: 'panel brief-card', 'aria-labelledby': 'card-title', onsubmit: (e) => {
    e.preventDefault();
    act(create, createError, async () => {
      const ad = await call('POST', '/api/ads', { ...request(), requestId });
      requestId = newRequestId();
      studio.open(ad.id);
    });
  } },
  h('div', { class: 'card-head' }, h('h3', { id: 'card-title' }, 'Creative brief'), editButton),
  missing, card, brandFields.el, options, estimate, create, createError);
  briefForm.addEventListener('change', quote);

  const { el, body } = stepView('brief', 'Vision & brief');
  const fileLabel = h('label', { for: 'brief-file' }, 'Or load a brief file (YAML or JSON)');
  body.append(h('div', { class: 'columns' },
    h('div', { class: 'panel chat' }, log, empty, chat, h('p', { class: 'file' }, fileLabel, fileInput)),
    briefForm));
  renderCard();
  return { el };
}

/** Step 1 of an ad that exists: its brief and options, read-only. */
export function BriefSummaryView(ad) {
  const brief = { ...emptyBrief(), ...ad.brief };
  const o = ad.options;
  const aspect = ASPECTS.find(([value]) => value === o.aspectRatio)?.[1] || ASPECTS[0][1];
  const height = o.render?.height ? `${o.render.height} p` : "the tier's height";
  const where = o.render?.platforms?.length ? ` · for ${o.render.platforms.map(platformName).join(', ')}` : '';
  const { el, body } = stepView('brief', 'Vision & brief');
  body.append(h('div', { class: 'panel brief-card' }, summary(brief),
    h('p', { class: 'hint', id: 'ad-options' }, `${o.durationSeconds} s · ${aspect} · rendered at ${height}${where}`)));
  return { el };
}
