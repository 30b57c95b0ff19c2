// Your ads: every ad the studio keeps, newest first, each reopened where it is.

import { call } from './api.js';
import { enumText, errorBox, h, media, showError, stepView } from './dom.js';

const PAGE_SIZE = 20;

function where(ad) {
  if (ad.state === 'AD_STATE_AWAITING_INPUT') return `waiting for you: ${enumText(ad.step, 'AD_STEP_')}`;
  if (ad.state === 'AD_STATE_RUNNING') return `working: ${enumText(ad.step, 'AD_STEP_')}`;
  return enumText(ad.state, 'AD_STATE_');
}

function thumbnail(ad) {
  const mood = ad.moods.find((m) => m.id === ad.chosenMoodId) || ad.moods[0];
  const image = ad.storyboard[0]?.seedImage?.uri || mood?.images[0]?.uri;
  return h('span', { class: 'thumb' }, image ? media('img', image, { alt: '' }) : null);
}

function adItem(ad) {
  const created = ad.createdAt ? new Date(ad.createdAt) : null;
  return h('li', { class: 'ad-item' },
    h('a', { href: `#/ads/${ad.id}`, id: `ad-${ad.id}` }, thumbnail(ad),
      h('span', { class: 'ad-text' },
        h('span', { class: 'ad-name' }, ad.brief.productName || 'Untitled'),
        h('span', { class: `ad-state ${ad.state}` }, where(ad)),
        created ? h('time', { datetime: ad.createdAt }, created.toLocaleString()) : null)));
}

export function AdsView() {
  const list = h('ul', { class: 'ad-list', id: 'ad-list' });
  const problem = errorBox('ads-error');
  const more = h('button', { type: 'button', id: 'ads-more', hidden: true }, 'Show more');
  let token = '';

  async function load() {
    try {
      const query = new URLSearchParams({ pageSize: PAGE_SIZE, pageToken: token });
      const page = await call('GET', `/api/ads?${query}`);
      list.append(...page.ads.map(adItem));
      if (!list.children.length) list.append(h('li', { class: 'empty' }, 'No ads yet. ', h('a', { href: '#/' }, 'Make one')));
      token = page.nextPageToken;
      more.hidden = !token;
    } catch (error) {
      showError(problem, error);
    }
  }

  more.addEventListener('click', load);
  load();
  const { el, body } = stepView('ads', 'Your ads');
  body.append(problem, list, more);
  return { el };
}
