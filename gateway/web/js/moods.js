// Step 2, mood: the moods as radio cards (arrow keys choose), sample images at 9:16, palette
// swatches and keywords; Continue waits until the chosen mood's images have loaded.

import { call } from './api.js';
import { JobProgress } from './jobs.js';
import { act, errorBox, h, media, rerender, stepView } from './dom.js';
import { stoppedPanel } from './stopped.js';

const SHOWN_KEYWORDS = 4;

function keywords(values) {
  const shown = values.slice(0, SHOWN_KEYWORDS);
  const more = values.length - shown.length;
  return h('ul', { class: 'tags' }, shown.map((k) => h('li', {}, k)),
    more > 0 ? h('li', { class: 'more' }, `+ ${more} more`) : null);
}

function palette(colours) {
  return h('ul', { class: 'palette', 'aria-label': 'Palette' }, colours.map((c) => h('li', {},
    h('span', { class: 'swatch', style: { 'background-color': c }, 'aria-hidden': 'true' }),
    h('span', { class: 'visually-hidden' }, c))));
}

function moodCard(mood, checked, disabled, onPick) {
  const images = mood.images.length ? mood.images : [];
  return h('label', { class: 'mood-card', 'data-mood': mood.id },
    h('input', { type: 'radio', name: 'mood', id: `mood-${mood.id}`, value: mood.id, checked, disabled, class: 'mood-radio',
      onchange: () => onPick(mood.id) }),
    h('span', { class: `mood-images count-${Math.min(images.length, 4)}` },
      images.slice(0, 4).map((image, i) => media('img', image.uri, {
        alt: `${mood.name}, sample ${i + 1}`, width: image.width || 9, height: image.height || 16,
      }))),
    h('span', { class: 'mood-text' },
      h('span', { class: 'mood-name' }, mood.name),
      h('span', { class: 'mood-description' }, mood.description),
      keywords(mood.styleKeywords),
      palette(mood.colorPalette)));
}

export function MoodsView(ad, studio) {
  const { el, body } = stepView('moods', 'Choose a mood');
  // Job progress matters only while the moods are proposed; later it must not redraw the cards.
  const progress = new JobProgress(() => { if (proposing(current)) render(); });
  let picked = ad.chosenMoodId || '';
  let current = ad;
  let shownVersion = null;

  function imagesLoaded(card) {
    return [...card.querySelectorAll('img')].every((img) => img.complete && img.naturalWidth > 0);
  }

  function render() {
    const atGate = current.state === 'AD_STATE_AWAITING_INPUT' && current.step === 'AD_STEP_CHOOSE_MOOD';
    const picks = (id) => { picked = id; refreshContinue(); };
    const cards = current.moods.map((m) => moodCard(m, m.id === picked, !atGate, picks));
    const choose = h('button', { type: 'button', class: 'primary', id: 'mood-continue', disabled: true });
    const waiting = h('p', { class: 'hint', id: 'mood-hint', 'aria-live': 'polite' });
    const problem = errorBox('mood-error');
    choose.addEventListener('click', () => act(choose, problem, async () => {
      studio.setAd(await call('POST', `/api/ads/${current.id}/mood`, { moodId: picked }));
    }));

    function refreshContinue() {
      const card = cards.find((c) => c.dataset.mood === picked);
      const ready = Boolean(card) && imagesLoaded(card);
      const mood = current.moods.find((m) => m.id === picked);
      choose.disabled = !ready;
      choose.textContent = mood ? `Continue with ${mood.name}` : 'Continue';
      waiting.textContent = !picked ? 'Choose a mood.' : ready ? '' : 'Waiting for its images…';
    }
    rerender(body,
      proposing(current) ? h('div', { class: 'panel loading' }, h('p', {}, 'Proposing moods and painting their samples…'),
        progress.view('Sample images')) : null,
      stoppedPanel(current, studio),
      cards.length ? h('fieldset', { class: 'mood-grid' },
        h('legend', {}, atGate ? 'Moods — use the arrow keys to choose' : 'Moods'), cards) : null,
      atGate ? h('div', { class: 'actions' }, choose, waiting, problem) : null);
    for (const img of el.querySelectorAll('img')) img.addEventListener('load', refreshContinue);
    refreshContinue();
  }

  function update(next) {
    current = next;
    progress.follow(proposing(next) ? next.steps.at(-1)?.jobIds || [] : []);
    if (next.version === shownVersion) return;
    shownVersion = next.version;
    picked ||= next.chosenMoodId;
    render();
  }

  function proposing(snapshot) {
    return snapshot.step === 'AD_STEP_MOODS' && snapshot.state === 'AD_STATE_RUNNING';
  }

  update(ad);
  return { el, update, close: () => progress.close() };
}
