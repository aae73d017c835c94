/** Script-tag entry (IIFE, global `SessionReplay`): starts itself from the data attributes of its <script> tag,
 * e.g. <script src="sessionreplay.min.js" data-endpoint="https://otel.example.com" data-service-name="shop"></script> */
import { optionsFromDataset, type RecorderOptions } from './options';
import { init } from './index';

export * from './index';

const el = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
if (el && el.dataset && el.dataset.endpoint) {
  try {
    init(optionsFromDataset(el.dataset) as RecorderOptions);
  } catch (e) {
    console.error('[SessionReplay]', e);
  }
}
