/** Script-tag entry of the full build (IIFE, global `SessionReplay`): core + OTel web tracing. */
import { optionsFromDataset, type RecorderOptions } from './options';
import { init } from './full';

export * from './full';

const el = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
if (el && el.dataset && el.dataset.endpoint) {
  try {
    init(optionsFromDataset(el.dataset) as RecorderOptions);
  } catch (e) {
    console.error('[SessionReplay]', e);
  }
}
