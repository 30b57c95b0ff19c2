// Step 5, final video: the player (autoplay muted, loop), downloads, stats, every render, a
// render with other options, and start over.

import { call, mediaUrl } from './api.js';
import { act, bytes, errorBox, h, media, money, reducedMotion, rerender, seconds, stepView } from './dom.js';

const HEIGHTS = [['1920', '1920 p'], ['1280', '1280 p'], ['1080', '1080 p'], ['720', '720 p'],
  ['480', '480 p'], ['320', '320 p (draft)']];
const TRANSITIONS = ['fade', 'dissolve', 'wipeleft', 'slideup', 'circleopen'];

/** A download link; with an API key its bytes are fetched first (a link cannot send headers). */
function download(path, name, label, id) {
  const link = h('a', { class: 'button', id, download: name, href: path }, label);
  mediaUrl(path).then((url) => { link.href = url; }, () => link.classList.add('broken'));
  return link;
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

function renderList(ad) {
  return h('ol', { class: 'renders', id: 'renders' }, ad.renders.map((r) => {
    const state = r.state.replace('COMPOSITION_STATE_', '').toLowerCase() || 'waiting';
    const options = `${r.options?.height || "tier's"} p, ${r.options?.fps || 30} fps`;
    return h('li', {}, `Render ${r.number} · ${options} · ${state}`,
      r.output?.id ? [' · ', download(r.downloadUri, `ad-${ad.id}-${r.number}.mp4`, 'Download',
        `render-${r.number}-download`)] : null,
      r.error ? h('span', { class: 'error' }, ` ${r.error}`) : null);
  }));
}

function select(id, label, choices, chosen) {
  return [h('label', { for: id }, label),
    h('select', { id }, choices.map(([v, t]) => h('option', { value: v, selected: v === chosen }, t)))];
}

export function FinalView(ad, studio) {
  const { el, body } = stepView('final', 'Final video');
  const problem = errorBox('render-error');
  let current = ad;
  let shownKey = null;

  function renderAgain() {
    const last = current.renders.at(-1)?.options || {};
    const button = h('button', { type: 'submit', class: 'primary', id: 'render-go' }, 'Render');
    const form = h('form', { class: 'panel render-form', 'aria-labelledby': 'render-title' },
      h('h3', { id: 'render-title' }, 'Render again'),
      h('div', { class: 'fields' },
        ...select('render-height', 'Height', HEIGHTS, String(last.height)),
        ...select('render-transition', 'Transition', TRANSITIONS.map((t) => [t, t]), last.transition),
        h('label', { for: 'render-fps' }, 'Frames per second'),
        h('input', { id: 'render-fps', type: 'number', min: 1, max: 60, value: last.fps || 30 })),
      button, problem);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = (id) => document.getElementById(id).value;
      const options = { height: Number(value('render-height')), fps: Number(value('render-fps')),
        transition: value('render-transition') };
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

  function render() {
    const done = current.renders.findLast((r) => r.state === 'COMPOSITION_STATE_COMPLETED');
    const running = current.state === 'AD_STATE_RUNNING';
    rerender(body,
      running ? h('p', { class: 'panel loading' }, `Rendering render ${current.renders.length}…`) : null,
      current.state === 'AD_STATE_FAILED' ? h('p', { class: 'error', role: 'alert' }, current.error) : null,
      done ? h('div', { class: 'final-grid' },
        h('div', { class: 'player' }, player(done)),
        h('div', { class: 'about' }, stats(current, done),
          h('div', { class: 'actions' },
            download(done.downloadUri, `ad-${current.id}.mp4`, 'Download MP4', 'download-mp4'),
            h('button', { type: 'button', id: 'regenerate-scene', onclick: () => studio.show('storyboard') }, 'Regenerate a scene'),
            h('a', { class: 'button', href: '#/', id: 'start-over' }, 'Start over')),
          h('h3', {}, 'Renders'), renderList(current))) : null,
      current.state === 'AD_STATE_COMPLETED' ? renderAgain() : null);
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
