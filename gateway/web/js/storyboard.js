// Step 3, storyboard: a timeline proportional to the scene durations and the scene cards. At
// the gate the scenes are edited (text, caption, duration, order, added or removed; the server
// enforces the plan rules and its message is shown) and approved; once the ad is done, one
// scene can be regenerated, with its estimated cost.

import { call } from './api.js';
import { JobProgress } from './jobs.js';
import { act, errorBox, h, media, money, rerender, seconds, showError, stepView } from './dom.js';
import { stoppedPanel } from './stopped.js';

const MARK_EVERY_S = 5;
const WHAT = [
  ['REGENERATE_WHAT_BOTH', 'Image and clip'],
  ['REGENERATE_WHAT_IMAGE', 'Image only'],
  ['REGENERATE_WHAT_CLIP', 'Clip only'],
  ['REGENERATE_WHAT_VOICE', 'Voice-over line only'],
];
// The media each choice makes again (the voice line is spoken again for VOICE or a new line).
const REMAKES = {
  REGENERATE_WHAT_BOTH: ['image', 'clip'],
  REGENERATE_WHAT_IMAGE: ['image'],
  REGENERATE_WHAT_CLIP: ['clip'],
  REGENERATE_WHAT_VOICE: [],
};

function hue(index) {
  return `hsl(${(index * 57 + 200) % 360} 70% 55%)`;
}

/**
 * Scenes on a track as long as the ad (or the edited scenes, when longer), a mark every 5 s and
 * at the end, a time range per block; a gap at the end shows the scenes are too short.
 */
export function timeline(scenes, adSeconds) {
  const sum = scenes.reduce((total, s) => total + s.durationSeconds, 0);
  const total = Math.max(sum, adSeconds) || 1;
  let start = 0;
  const blocks = scenes.map((scene, i) => {
    const range = `Scene ${i + 1}: ${start.toFixed(1)}–${(start + scene.durationSeconds).toFixed(1)} s`;
    start += scene.durationSeconds;
    return h('li', { class: 'block', title: range,
      style: { width: `${(scene.durationSeconds / total) * 100}%`, 'background-color': hue(i) } },
    h('span', { class: 'visually-hidden' }, range),
    h('span', { 'aria-hidden': 'true' }, `${i + 1}`,
      h('span', { class: 'length' }, ` · ${scene.durationSeconds.toFixed(1)}s`)));
  });
  // The end gets its own mark; a 5 s mark closer than a second to it would overlap it.
  const times = [];
  for (let t = 0; t < total - 1; t += MARK_EVERY_S) times.push(t);
  times.push(total);
  const marks = times.map((t) => h('span', { class: 'mark', style: { left: `${(t / total) * 100}%` } },
    `${Number(t.toFixed(1))}s`));
  return h('figure', { class: 'timeline' },
    h('ol', { class: 'track', 'aria-label': 'Timeline' }, blocks),
    h('div', { class: 'marks', 'aria-hidden': 'true' }, marks),
    h('figcaption', {}, `Total ${seconds(sum)} of ${seconds(adSeconds)}`));
}

function badges(index, duration) {
  return [h('span', { class: 'badge number' }, `${index + 1}`),
    h('span', { class: 'badge duration' }, seconds(duration))];
}

function sceneMedia(index, scene, adScene) {
  const image = adScene?.seedImage?.uri;
  return h('div', { class: 'scene-media', style: { '--hue': hue(index) } },
    image ? media('img', image, { alt: `Seed image of scene ${index + 1}` })
      : h('span', { class: 'placeholder' }, 'No image yet'),
    badges(index, scene.durationSeconds));
}

// A violated field of StoryboardScene → the id suffix of its control on the card.
const CONTROL_OF = { description: 'description', caption: 'caption', duration_seconds: 'duration',
  voice_line: 'voice' };

/**
 * Where a field violation points: the scene ("scenes[2].voice_line", 0-based, or "scene 3's
 * caption …") and, when it names one, the scene's field.
 */
function violationPlace({ field, description }) {
  const listed = field.match(/^scenes\[(\d+)\](?:\.(\w+))?/);
  if (listed) return { scene: Number(listed[1]), field: listed[2] };
  const named = description.match(/^scene (\d+)(?:'s (\w+))?\b/);
  return named ? { scene: Number(named[1]) - 1, field: named[2] } : { scene: -1 };
}

function regenerating(ad) {
  return ad.state === 'AD_STATE_RUNNING' && ad.step === 'AD_STEP_REGENERATE';
}

function field(id, label, control) {
  return [h('label', { for: id }, label), control];
}

export function StoryboardView(ad, studio) {
  const { el, body } = stepView('storyboard', 'Storyboard');
  const progress = new JobProgress(() => { if (regenerating(current)) render(); });
  let current = ad;
  let draft = [];
  let dirty = false;
  let shownVersion = null;
  const problem = errorBox('storyboard-error');
  const track = h('div', { class: 'timeline-box' });

  const atGate = () => current.state === 'AD_STATE_AWAITING_INPUT'
    && current.step === 'AD_STEP_APPROVE_STORYBOARD';

  function fromAd() {
    draft = current.storyboard.map((s, i) => ({ ...s.scene, from: i }));
    dirty = false;
  }

  function changed() {
    dirty = true;
    track.replaceChildren(timeline(draft, current.options.durationSeconds));
  }

  function editCard(scene, i) {
    const set = (name, parse = (v) => v) => (e) => { scene[name] = parse(e.target.value); changed(); };
    const move = (to) => () => {
      draft.splice(to, 0, draft.splice(i, 1)[0]);
      changed();
      render();
      document.getElementById(`scene-${to}-${to < i ? 'up' : 'down'}`)?.focus();
    };
    return h('li', { class: 'scene-card', id: `scene-${i}` },
      sceneMedia(i, scene, current.storyboard[scene.from]),
      h('div', { class: 'scene-fields' },
        field(`scene-${i}-description`, 'Description', h('textarea', { id: `scene-${i}-description`,
          rows: 3, value: scene.description, oninput: set('description') })),
        field(`scene-${i}-caption`, 'Caption (at most 6 words)', h('input', { id: `scene-${i}-caption`,
          value: scene.caption, oninput: set('caption') })),
        field(`scene-${i}-duration`, 'Duration (seconds)', h('input', { id: `scene-${i}-duration`,
          type: 'number', step: 0.1, min: 0.1, value: scene.durationSeconds,
          oninput: set('durationSeconds', (v) => Number(v) || 0) })),
        field(`scene-${i}-voice`, 'Voice-over line (empty: silent scene)', h('textarea', {
          id: `scene-${i}-voice`, rows: 2, value: scene.voiceLine || '', oninput: set('voiceLine') })),
        h('div', { class: 'scene-actions' },
          h('button', { type: 'button', id: `scene-${i}-up`, disabled: i === 0, onclick: move(i - 1) },
            'Move up', h('span', { class: 'visually-hidden' }, ` scene ${i + 1}`)),
          h('button', { type: 'button', id: `scene-${i}-down`, disabled: i === draft.length - 1,
            onclick: move(i + 1) }, 'Move down', h('span', { class: 'visually-hidden' }, ` scene ${i + 1}`)),
          h('button', { type: 'button', id: `scene-${i}-remove`,
            onclick: () => { draft.splice(i, 1); changed(); render(); } },
          'Remove', h('span', { class: 'visually-hidden' }, ` scene ${i + 1}`)))));
  }

  /** The edit as UpdateStoryboard wants it: unchanged text is left out (kept by the server). */
  function edits() {
    return draft.map((scene) => {
      const before = scene.from == null ? null : current.storyboard[scene.from].scene;
      const edit = { durationSeconds: scene.durationSeconds };
      if (before) edit.fromScene = scene.from;
      for (const name of ['description', 'caption', 'voiceLine']) {
        if (!before || scene[name] !== before[name]) edit[name] = scene[name];
      }
      return edit;
    });
  }

  async function save() {
    el.querySelectorAll('.scene-problem').forEach((p) => p.remove());
    el.querySelectorAll('[aria-invalid]').forEach((c) => {
      c.removeAttribute('aria-invalid');
      c.removeAttribute('aria-describedby');
    });
    try {
      const saved = await call('PUT', `/api/ads/${current.id}/storyboard`, { scenes: edits() });
      dirty = false;
      studio.setAd(saved);
      return saved;
    } catch (error) {
      markScenes(error);
      throw error;
    }
  }

  /**
   * A refusal that names a scene is shown on its card too, right after the field that caused
   * it (which is marked invalid and described by the message), else at the end of the card.
   */
  function markScenes(error) {
    (error.violations || []).forEach((violation, n) => {
      const place = violationPlace(violation);
      const card = document.getElementById(`scene-${place.scene}`);
      if (!card) return;
      const id = `scene-problem-${n}`;
      const message = h('p', { class: 'error scene-problem', id }, violation.description);
      const control = document.getElementById(`scene-${place.scene}-${CONTROL_OF[place.field]}`);
      if (control) {
        control.after(message);
        control.setAttribute('aria-invalid', 'true');
        control.setAttribute('aria-describedby', id);
      } else {
        card.querySelector('.scene-fields').append(message);
      }
    });
  }

  function gateActions() {
    const add = h('button', { type: 'button', id: 'scene-add', onclick: () => {
      draft.push({ from: null, description: '', caption: '', durationSeconds: 1, voiceLine: '' });
      changed();
      render();
      document.getElementById(`scene-${draft.length - 1}-description`)?.focus();
    } }, 'Add a scene');
    const saveButton = h('button', { type: 'button', id: 'storyboard-save' }, 'Save changes');
    const approve = h('button', { type: 'button', class: 'primary', id: 'storyboard-approve' },
      'Approve the storyboard');
    saveButton.addEventListener('click', () => act(saveButton, problem, save));
    approve.addEventListener('click', () => act(approve, problem, async () => {
      if (dirty) await save();
      studio.setAd(await call('POST', `/api/ads/${current.id}/storyboard/approve`, {}));
    }));
    return h('div', { class: 'actions' }, add, saveButton, approve,
      h('p', { class: 'hint' }, `The scenes must add up to ${seconds(current.options.durationSeconds)}.`));
  }

  function regenerateForm(i) {
    const { scene } = current.storyboard[i];
    const what = h('select', { id: `regen-${i}-what` }, WHAT.map(([v, t]) => h('option', { value: v }, t)));
    const hint = h('input', { id: `regen-${i}-hint`, placeholder: 'e.g. warmer light' });
    const line = h('textarea', { id: `regen-${i}-voice`, rows: 2, value: scene.voiceLine || '' });
    const cost = h('p', { class: 'estimate', id: `regen-${i}-cost`, 'aria-live': 'polite' });
    const box = errorBox(`regen-${i}-error`);
    const go = h('button', { type: 'button', class: 'primary', id: `regen-${i}-go` },
      `Regenerate scene ${i + 1}`);
    const newLine = () => (line.value !== (scene.voiceLine || '') ? line.value : undefined);
    const quote = () => estimate(i, what.value, newLine()).then(
      (text) => { cost.textContent = text; }, (error) => showError(box, error));
    what.addEventListener('change', quote);
    line.addEventListener('change', quote);
    go.addEventListener('click', () => act(go, box, async () => {
      const body = { what: what.value, hint: hint.value, voiceLine: newLine() };
      studio.setAd(await call('POST', `/api/ads/${current.id}/scenes/${i}/regenerate`, body));
    }));
    const details = h('details', { class: 'regenerate' }, h('summary', {}, 'Regenerate this scene'),
      ...field(`regen-${i}-what`, 'What', what), ...field(`regen-${i}-hint`, 'What to change', hint),
      ...field(`regen-${i}-voice`, 'Voice-over line (a new one is spoken with any choice)', line),
      cost, go, box);
    details.addEventListener('toggle', () => { if (details.open) quote(); });
    return details;
  }

  /**
   * What regenerating scene i would cost, priced by the generator before anything is paid: the
   * image and clip `what` remakes, and the voice line when it is spoken again (VOICE, or a
   * new line with any choice).
   */
  async function estimate(i, what, newLine) {
    const { scene, clip } = current.storyboard[i];
    const { tier, aspectRatio } = current.options;
    const remakes = REMAKES[what] || REMAKES.REGENERATE_WHAT_BOTH;
    const requests = [];
    if (remakes.includes('image')) {
      requests.push({ images: { images: [{ prompt: scene.imagePrompt || scene.stylePrompt }], tier, aspectRatio } });
    }
    if (remakes.includes('clip')) {
      const durationSeconds = Math.round((clip?.durationSeconds || scene.durationSeconds) * 100) / 100;
      requests.push({ clips: { clips: [{ prompt: scene.stylePrompt, durationSeconds }], tier, aspectRatio } });
    }
    const spoken = newLine ?? (what === 'REGENERATE_WHAT_VOICE' ? scene.voiceLine : '');
    if (spoken) requests.push({ voice: { lines: [{ text: spoken }], tier } });
    const answers = await Promise.all(requests.map((r) => call('POST', '/api/cost/estimate', r)));
    const total = answers.reduce((sum, a) => sum + Number(a.estimatedCostMicros || 0), 0);
    const basis = [...new Set(answers.flatMap((a) => a.items.map((item) => item.basis)))].join('; ');
    return `Estimated cost: ${money(total)}${basis ? ` (${basis})` : ''}`;
  }

  function viewCard(adScene, i) {
    const { scene } = adScene;
    const versions = adScene.versions.length;
    return h('li', { class: 'scene-card', id: `scene-${i}` }, sceneMedia(i, scene, adScene),
      h('div', { class: 'scene-fields' },
        h('p', { class: 'description' }, scene.description),
        scene.caption ? h('p', { class: 'caption' }, h('strong', {}, 'Caption: '), scene.caption) : null,
        scene.voiceLine ? h('p', { class: 'voice' }, `Voice: “${scene.voiceLine}”`) : null,
        versions ? h('p', { class: 'hint', id: `scene-${i}-versions` },
          `Version ${versions} · cost ${money(adScene.actualCostMicros)}`) : null,
        current.state === 'AD_STATE_COMPLETED' ? regenerateForm(i) : null));
  }

  function banner() {
    const mood = current.moods.find((m) => m.id === current.chosenMoodId);
    if (!mood) return null;
    return h('p', { class: 'mood-banner', id: 'chosen-mood' }, 'Mood: ', h('strong', {}, mood.name), ' ',
      h('span', { class: 'palette inline', 'aria-hidden': 'true' }, mood.colorPalette.map(
        (c) => h('span', { class: 'swatch', style: { 'background-color': c } }))));
  }

  function status() {
    if (current.state !== 'AD_STATE_RUNNING') return stoppedPanel(current, studio);
    const text = current.step === 'AD_STEP_PLAN' ? 'Creating the scene breakdown…'
      : current.step === 'AD_STEP_REGENERATE'
        ? `Regenerating scene ${(current.regeneration?.scene || 0) + 1}…` : null;
    return text ? h('div', { class: 'panel loading' }, h('p', {}, text), progress.view('Regeneration')) : null;
  }

  function render() {
    const scenes = atGate() ? draft : current.storyboard.map((s) => s.scene);
    track.replaceChildren(timeline(scenes, current.options.durationSeconds));
    const cards = atGate() ? draft.map(editCard) : current.storyboard.map(viewCard);
    rerender(body, banner(), status(),
      scenes.length ? track : null, h('ol', { class: 'scene-grid' }, cards),
      atGate() ? gateActions() : null, problem);
  }

  function update(next) {
    current = next;
    progress.follow(regenerating(next) ? next.steps.at(-1)?.jobIds || [] : []);
    if (next.version === shownVersion || (dirty && atGate())) return;
    shownVersion = next.version;
    fromAd();
    render();
  }

  update(ad);
  return { el, update, close: () => progress.close() };
}
