// What a render can be asked for, shared by the brief's options and the final step's render form
// (the values are the studio's RenderOptions fields).

export const HEIGHTS = [['', "The tier's"], ['1920', '1920 p'], ['1280', '1280 p'], ['1080', '1080 p'],
  ['720', '720 p'], ['480', '480 p'], ['320', '320 p (draft)']];

export const CAPTIONS = [
  ['AD_CAPTIONS_UNSPECIFIED', 'Automatic (the spoken words, else scene captions)'],
  ['AD_CAPTIONS_WORDS', 'The spoken words'],
  ['AD_CAPTIONS_SCENES', 'Scene captions'],
  ['AD_CAPTIONS_OFF', 'None burned in'],
];

// RenderOptions.platforms: where the ad runs; each sets the frame's shape and the captions'
// safe zone (clear of that platform's buttons).
export const PLATFORMS = [
  ['tiktok', 'TikTok (9:16)'],
  ['reels', 'Instagram Reels (9:16)'],
  ['shorts', 'YouTube Shorts (9:16)'],
  ['feed', 'Feed (4:5)'],
  ['square', 'Square (1:1)'],
  ['landscape', 'Landscape (16:9)'],
];

// RenderOptions.cutdowns: 0 is the full ad; a cut-down must be shorter than the ad.
export const CUTDOWNS = [['0', 'The full ad'], ['15', '15 s cut-down'], ['6', '6 s cut-down']];

// The platform whose frame the ad's aspect ratio is, for a render that names none.
const PLATFORM_OF_ASPECT = {
  ASPECT_RATIO_9_16: 'tiktok', ASPECT_RATIO_4_5: 'feed', ASPECT_RATIO_1_1: 'square',
  ASPECT_RATIO_16_9: 'landscape',
};

export function adPlatform(aspectRatio) {
  return PLATFORM_OF_ASPECT[aspectRatio] || 'tiktok';
}

export function platformName(value) {
  return (PLATFORMS.find(([v]) => v === value) || PLATFORMS[0])[1];
}
