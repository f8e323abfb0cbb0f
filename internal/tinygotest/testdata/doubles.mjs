// Test doubles of the host interfaces a pelato component imports besides WASI
// (which @bytecodealliance/preview2-shim serves): wasi:logging/logging,
// wasi:config/runtime, wasmcloud:messaging/consumer and wasi:keyvalue/store, as a
// wasmCloud 1.x host serves them to a component through its links. They record
// what the component does in `state`, which runner.mjs prints. They follow the WIT
// in templates/wit/deps: the names, types and error variants of each function.

/** What the component did, and the runtime configuration it is given. */
export const state = { config: {}, published: [], kv: {}, logs: [], opened: [] };

const text = new TextDecoder();

export const logging = {
  log(level, context, message) {
    state.logs.push({ level, context, message });
  },
};

// wasi:config/runtime@0.2.0-draft (wasmCloud 1) and wasi:config/store@0.2.0-rc.1
// (wasmCloud 2) have the same functions: get returns option<string> or throws the
// error variant; get-all returns the pairs.
export const config = {
  get(key) {
    return Object.hasOwn(state.config, key) ? state.config[key] : undefined;
  },
  getAll() {
    return Object.entries(state.config);
  },
};

// wasmcloud:messaging/consumer@0.2.0.
export const consumer = {
  publish(msg) {
    state.published.push({ subject: msg.subject, body: text.decode(msg.body), replyTo: msg.replyTo ?? null });
  },
  request(subject, body, timeoutMs) {
    throw "request is not served by this test double";
  },
};

// wasmcloud:messaging/types@0.2.0 has types only.
export const types = {};

// wasi:keyvalue/store@0.2.0-draft: open(identifier) -> bucket; bucket.set stores
// bytes under the identifier it was opened with.
class Bucket {
  #name;
  constructor(name) {
    this.#name = name;
  }
  get(key) {
    const v = state.kv[this.#name]?.[key];
    return v === undefined ? undefined : new TextEncoder().encode(v);
  }
  set(key, value) {
    (state.kv[this.#name] ??= {})[key] = text.decode(value);
  }
  delete(key) {
    delete state.kv[this.#name]?.[key];
  }
  exists(key) {
    return state.kv[this.#name]?.[key] !== undefined;
  }
  listKeys(cursor) {
    return { keys: Object.keys(state.kv[this.#name] ?? {}), cursor: undefined };
  }
}

export const store = {
  Bucket,
  open(identifier) {
    state.opened.push(identifier);
    return new Bucket(identifier);
  },
};
