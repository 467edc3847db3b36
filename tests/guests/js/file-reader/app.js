// An airssys component in JavaScript (componentize-js, world `airssys:core/filesystem-component`).
//
// `execute(input)` takes one path per line and reads each through the airssys filesystem
// extension (`read-file`), reporting on stdout (WASI stdio) what happened to each: the bytes read,
// or the error the host returned. It returns the bytes of the last file read.
import { readFile } from 'airssys:ext-filesystem/filesystem@1.0.0';

export const componentLifecycle = {
  init(config) {
    console.error(`init ${config.length}`);
  },
  execute(input) {
    let last = new Uint8Array();
    const paths = new TextDecoder().decode(input).split('\n').filter((p) => p.length > 0);
    for (const path of paths) {
      try {
        last = readFile(path);
        console.log(`read ${path}: ${last.length} bytes: ${new TextDecoder().decode(last).trim()}`);
      } catch (e) {
        console.log(`refused ${path}: ${JSON.stringify(e.payload ?? String(e))}`);
      }
    }
    return last;
  },
  handleMessage(sender, payload) {},
  handleCallback(requestId, result) {},
  metadata() {
    return {
      name: 'js-reader',
      version: '0.1.0',
      description: undefined,
      author: undefined,
      license: undefined,
      capabilities: [],
    };
  },
  health() {
    return { tag: 'healthy' };
  },
  shutdown() {},
};
