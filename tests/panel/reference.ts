// Reference page: the same recording rebuilt directly by rrweb's Replayer (no panel), paused at the first frame.
import { Replayer } from 'rrweb';

import 'rrweb/dist/style.css';

async function main() {
  const params = new URLSearchParams(window.location.search);
  const events = await (await fetch(`/recording/${params.get('session') ?? 'demoit'}`)).json();
  const replayer = new Replayer(events, { root: document.getElementById('root')!, showWarning: false, mouseTail: false });
  replayer.pause(0);
  (window as unknown as { __ready: boolean }).__ready = true;
}
void main();
