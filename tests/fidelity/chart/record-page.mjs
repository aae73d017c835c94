// The recorded page: the d3 dashboard, recorded by rrweb's own record (plain rrweb defaults, as a site that
// runs rrweb would; inputs are not masked by the recorder here, so the server's masking is what is tested).
import { record } from 'rrweb';

import { mount } from './dashboard.mjs';

window.__events = [];
mount();
record({ emit: (e) => window.__events.push(e) });
window.__recording = true;
