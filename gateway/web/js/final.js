// Step 5, final video: the player (autoplay muted, loop), the MP4 and subtitle downloads, stats,
// every render, renders for other platforms and lengths (or with other options), and start over.

import { call, mediaUrl } from './api.js';
import { adPlatform, CAPTIONS, CUTDOWNS, HEIGHTS, PLATFORMS, platformName } from './choices.js';
import {
  act, bytes, errorBox, h, media, money, reducedMotion, rerender, seconds, select, stepView,
} from './dom.js';

const TRANSITIONS = ['fade', 'dissolve', 'wipeleft', 'slideup', 'circleopen'];
const FINISHED = new Set(['COMPOSITION_STATE_COMPLETED', 'COMPOSITION_STATE_FAILED', 'COMPOSITION_STATE_CANCELED']);

/** A download link; with an API key its bytes are fetched first (a link cannot send headers). */
function download(path, name, label, id) {
  const link = h('a', { class: 'button', id, download: name, href: path }, label);
  mediaUrl(path).then((url) => { link.href = url; }, () => link.classList.add('broken'));
  return link;
}

/**
 * A render's files: the MP4 and, when the ad has a voice-over, its subtitles (SRT and WebVTT,
 * the spoken words as the video shows them). `id` prefixes the links' ids.
 */
function downloads(ad, render, id, mp4Label) {
  const name = `ad-${ad.id}${render.number > 1 ? `-${render.number}` : ''}`;
  return [
    download(render.downloadUri, `${name}.mp4`, mp4Label, `${id}-mp4`),
    render.subtitlesSrt?.uri
      ? download(render.subtitlesSrt.uri, `${name}.srt`, 'Subtitles (SRT)', `${id}-srt`) : null,
    render.subtitlesVtt?.uri
      ? download(render.subtitlesVtt.uri, `${name}.vtt`, 'Subtitles (VTT)', `${id}-vtt`) : null,
  ];
}

function stats(ad, render) {
  const item = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
  return h('dl', { class: 'stats', id: 'stats' },
    item('Duration', seconds(render.durationSeconds)),
    item('Size', bytes(render.output.sizeBytes)),
    item('Resolution', `${render.width}×${render.height}`),
    item('Codecs', [render.videoCodec, render.audioCodec].filter(Boolean).join(' + ')),
    item('Scenes', String(ad.storyboard.length)),
    item('Cost', money(ad.actualCostMicros)));
}

/** What a render is: its platform and cut-down, size, length and weight. */
function renderFacts(r) {
  const facts = [`Render ${r.number}`, platformName(r.platform || r.options?.platform)];
  if (r.cutdownSeconds) facts.push(`${r.cutdownSeconds} s cut-down`);
  if (r.state === 'COMPOSITION_STATE_COMPLETED') {
    facts.push(`${r.width}×${r.height}`, seconds(r.durationSeconds), bytes(r.output.sizeBytes));
  } else {
    facts.push(r.state.replace('COMPOSITION_STATE_', '').toLowerCase() || 'waiting');
  }
  return facts.join(' · ');
}

function renderList(ad) {
  return h('ol', { class: 'renders', id: 'renders' }, ad.renders.map((r) => h('li', { id: `render-${r.number}` },
    h('span', { class: 'render-facts' }, renderFacts(r)),
    r.output?.id ? h('span', { class: 'downloads' }, downloads(ad, r, `render-${r.number}`, 'MP4')) : null,
    r.error ? h('span', { class: 'error' }, ` ${r.error}`) : null)));
}

/** Checkboxes named `name`, one per [value, text] choice; `chosen` are ticked. */
function checkboxes(name, legend, choices, chosen, disabled = () => false) {
  return h('fieldset', { class: 'choices', id: `render-${name}` }, h('legend', {}, legend),
    choices.map(([value, text]) => h('label', { class: 'check', for: `render-${name}-${value}` },
      h('input', { type: 'checkbox', name, id: `render-${name}-${value}`, value,
        checked: chosen.includes(value), disabled: disabled(value) }), ` ${text}`)));
}

/** Whether the brief names anything of a brand (the studio's default for the end card). */
function hasBrand(brief) {
  const kit = brief.brand || {};
  return Boolean(kit.name || kit.logo || kit.palette?.length || kit.headingFont || kit.bodyFont
    || brief.productImages?.length);
}

/** The brand on the render: the end card (on by default with a brand) and the logo watermark. */
function brandChoices(ad, last) {
  const logo = Boolean(ad.brief.brand?.logo);
  const endCard = last.endCard ?? hasBrand(ad.brief);
  return h('fieldset', { class: 'choices', id: 'render-brand' }, h('legend', {}, 'Brand'),
    h('label', { class: 'check', for: 'render-end-card' },
      h('input', { type: 'checkbox', id: 'render-end-card', checked: endCard }),
      ' End card (logo, name, call to action)'),
    h('label', { class: 'check', for: 'render-watermark' },
      h('input', { type: 'checkbox', id: 'render-watermark', checked: logo && Boolean(last.watermark),
        disabled: !logo }),
      logo ? ' Watermark (the logo in a corner)' : ' Watermark (needs a logo in the brief)'));
}

function ticked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
}

export function FinalView(ad, studio) {
  const { el, body } = stepView('final', 'Final video');
  const problem = errorBox('render-error');
  let current = ad;
  let shownKey = null;

  /**
   * RenderAd: the same scenes composed for other platforms (each its own frame shape) and
   * cut-down lengths, one render per platform × length; nothing is generated or paid again.
   */
  function renderForm() {
    const newest = current.renders.at(-1);
    const last = newest?.options || {};
    const adSeconds = current.options.durationSeconds;
    const platform = newest?.platform || last.platform || adPlatform(current.options.aspectRatio);
    const button = h('button', { type: 'submit', class: 'primary', id: 'render-go' }, 'Render');
    const form = h('form', { class: 'panel render-form', 'aria-labelledby': 'render-title' },
      h('h3', { id: 'render-title' }, 'Render for other platforms'),
      checkboxes('platforms', 'Platforms', PLATFORMS, [platform]),
      checkboxes('cutdowns', 'Lengths', CUTDOWNS, ['0'], (value) => Number(value) >= adSeconds),
      h('p', { class: 'hint' }, 'A cut-down keeps the hook, the product and the call to action; '
        + 'it needs an ad longer than itself.'),
      brandChoices(current, last),
      h('div', { class: 'fields' },
        ...select('render-captions', 'Captions', CAPTIONS, last.captions || CAPTIONS[0][0]),
        ...select('render-height', 'Height', HEIGHTS, last.height ? String(last.height) : ''),
        ...select('render-transition', 'Transition', TRANSITIONS.map((t) => [t, t]), last.transition),
        h('label', { for: 'render-fps' }, 'Frames per second'),
        h('input', { id: 'render-fps', type: 'number', min: 1, max: 60, value: last.fps || 30 })),
      button, problem);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = (id) => document.getElementById(id).value;
      const options = {
        platforms: ticked(form, 'platforms'), cutdowns: ticked(form, 'cutdowns').map(Number),
        captions: value('render-captions'), height: Number(value('render-height')),
        fps: Number(value('render-fps')), transition: value('render-transition'),
        endCard: document.getElementById('render-end-card').checked,
        watermark: document.getElementById('render-watermark').checked,
      };
      act(button, problem, async () => studio.setAd(await call('POST', `/api/ads/${current.id}/renders`, { options })));
    });
    return form;
  }

  function player(render) {
    const autoplay = !reducedMotion(); // a moving picture only when motion is welcome
    return media('video', render.output.uri, {
      id: 'final-video', controls: true, muted: true, defaultMuted: true, loop: true,
      autoplay, playsInline: true, preload: 'auto', 'aria-label': 'The finished ad',
      width: render.width, height: render.height,
    });
  }

  function rendering() {
    const numbers = current.renders.filter((r) => !FINISHED.has(r.state)).map((r) => r.number);
    return `Rendering ${numbers.length > 1 ? 'renders' : 'render'} ${numbers.join(', ')}…`;
  }

  function render() {
    const done = current.renders.findLast((r) => r.state === 'COMPOSITION_STATE_COMPLETED');
    const running = current.state === 'AD_STATE_RUNNING';
    rerender(body,
      running ? h('p', { class: 'panel loading' }, rendering()) : null,
      current.state === 'AD_STATE_FAILED' ? h('p', { class: 'error', role: 'alert' }, current.error) : null,
      done ? h('div', { class: 'final-grid' },
        h('div', { class: 'player' }, player(done)),
        h('div', { class: 'about' }, stats(current, done),
          h('div', { class: 'actions' },
            downloads(current, done, 'download', 'Download MP4'),
            h('button', { type: 'button', id: 'regenerate-scene', onclick: () => studio.show('storyboard') }, 'Regenerate a scene'),
            h('a', { class: 'button', href: '#/', id: 'start-over' }, 'Start over')),
          h('h3', {}, 'Renders'), renderList(current))) : null,
      current.state === 'AD_STATE_COMPLETED' ? renderForm() : null);
  }

  function update(next) {
    current = next;
    // Re-rendering would restart the video and clear the form: only when something shown moved.
    const key = `${next.state}|${next.renders.map((r) => `${r.number}:${r.state}`).join(',')}`;
    if (key === shownKey) return;
    shownKey = key;
    render();
  }

  update(ad);
  return { el, update };
}
