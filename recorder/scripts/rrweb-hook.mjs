// esbuild plugin: adds one option to the installed @rrweb/record (pinned, 2.1.6) so that its full snapshot can
// be taken in slices by our code (src/sliced.ts) instead of rrweb's synchronous `snapshot(document)`.
//
// rrweb's record() keeps everything a snapshot needs (the mirror, the stylesheet/iframe/shadow-DOM managers
// behind onSerialize, the mutation buffers it locks meanwhile) inside its closure, and offers no way to
// serialize asynchronously. Rather than copying that glue, we make four small edits to its takeFullSnapshot:
// the Meta event and everything after the snapshot become a `finish(node)` continuation, and the option
// `sliceSnapshot` is called with rrweb's own snapshot options, rrweb's own serializeNodeWithId, an unlock of
// the mutation buffers and that continuation. The option is required: rrweb's synchronous snapshot() drops out
// of the bundle (one copy of the walk less; the core bundle has no bytes to spare).
// Every edit must match exactly once, so a different rrweb version fails the build instead of misbehaving.
import { readFile } from 'node:fs/promises';

const EDITS = [
  // the Meta event goes out with the full snapshot (sliced: when it completes, so both carry its time)
  ['    wrappedEmit(\n      {\n        type: EventType.Meta,', '    const emitMeta = () => wrappedEmit(\n      {\n        type: EventType.Meta,'],
  ['    const node = snapshot(document, {\n      mirror,', '    const snapshotOptions = {\n      mirror,'],
  [
    '      keepIframeSrcFn\n    });\n    if (!node) {',
    '      keepIframeSrcFn\n    };\n    const finish = (node) => {\n    emitMeta();\n    if (!node) {',
  ],
  [
    '        mirror.getId(document)\n      );\n  };',
    '        mirror.getId(document)\n      );\n    };\n    options.sliceSnapshot(document, snapshotOptions, serializeNodeWithId, () => mutationBuffers.forEach((buf) => buf.unlock()), finish);\n  };',
  ],
];

export const rrwebSliceHook = {
  name: 'rrweb-slice-hook',
  setup(build) {
    build.onLoad({ filter: /[\\/]@rrweb[\\/]record[\\/]dist[\\/]record\.js$/ }, async (args) => {
      let src = await readFile(args.path, 'utf8');
      for (const [from, to] of EDITS) {
        const n = src.split(from).length - 1;
        if (n !== 1) throw new Error(`rrweb-slice-hook: expected one match in ${args.path}, found ${n}: ${from.slice(0, 60)}`);
        src = src.replace(from, () => to);
      }
      return { contents: src, loader: 'js' };
    });
  },
};
