/**
 * Routing errors: 404 vs 405, the `Allow` header, and which prefixed context owns the not-found
 * responses under its prefix (README "404 and 405").
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { MethodNotAllowed, NotFound } from './exceptions.js'
import { FFE_INVALID_OPTION, FFE_NOT_FOUND_HANDLER_TAKEN, FFE_ROUTING_CLAIM_TOO_LATE } from './errors.js'
import type { NotFoundHooks } from './options.js'
import { readThrown } from './thrown.js'
import type { ThrownFacts } from './thrown.js'

/**
 * The methods worth probing for a 405, and the catch-all routes that must not count as serving a
 * path. Fastify knows ~30 methods (WebDAV included); probing all on every unknown URL would cost
 * ~10 µs, so we probe the common ones plus any other method a route was actually registered with
 * (seen by an `onRoute` hook, at startup).
 *
 * A catch-all matches every path, so counting it would make every unknown URL a 405: @fastify/cors
 * registers `OPTIONS *` (every miss would answer `405 Allow: OPTIONS`), an SPA fallback `GET *`. The
 * catch-alls are known at registration by the static stem before their `*` (`/` for `*` and `/*`,
 * `/api` for `*` in an `/api` context); at request time a match is the catch-all when the stem
 * followed by its `*` parameter is the whole path. That costs a look at the one or two catch-alls of
 * the probed method, never a walk over the routes.
 */
export class MethodIndex {
  readonly #methods: string[]
  /** Method → the stems of its catch-all routes (the static text before the `*`). */
  readonly #catchAlls = new Map<string, string[]>()

  constructor (supported: readonly string[]) {
    this.#methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => supported.includes(m))
  }

  /** Records the methods of a route as it is registered. */
  add (methods: RouteOptions['method']): void {
    for (const method of typeof methods === 'string' ? [methods] : methods) {
      const upper = method.toUpperCase()
      if (!this.#methods.includes(upper)) this.#methods.push(upper)
    }
  }

  /**
   * Records a route as Fastify's `onRoute` hook shows it: its methods, and whether it is a catch-all.
   * A catch-all is a route whose whole path is a wildcard: at the root (`*`, `/*`) for any method, and
   * `OPTIONS` at a context's bare prefix too (cors registered inside an `/api` context registers
   * `OPTIONS /api*`: it answers preflights, it serves no resource). A wildcard under a path
   * (`/files/*`, a prefix's own `GET /docs/*`, @fastify/static's `prefix: '/public/'`) serves that
   * URL space: a wrong method there stays a 405.
   */
  route (route: Pick<RouteOptions, 'method' | 'url'> & { routePath?: string }): void {
    this.add(route.method)
    if (!route.url.endsWith('*')) return
    const stem = route.url.slice(0, -1)
    // Only a static stem: `/:lang/*` serves paths whose beginnings differ from its pattern.
    if (/[:*(]/.test(stem)) return
    const root = stem === '' || stem === '/'
    const bare = route.routePath === '*' || route.routePath === '/*'
    for (const method of typeof route.method === 'string' ? [route.method] : route.method) {
      // `*` and `/*` are one catch-all to the router (its `*` parameter keeps the leading slash of `*`).
      if (root) this.#addCatchAll(method.toUpperCase(), '/')
      else if (bare && method.toUpperCase() === 'OPTIONS') this.#addCatchAll('OPTIONS', stem)
    }
  }

  /**
   * Finds the root catch-alls registered before the plugin (an `onRoute` hook sees only later
   * routes, and cors is often registered first). Called once, when the app gets ready; Fastify's
   * `hasRoute` answers `/*` for both `*` and `/*`.
   */
  findRootCatchAlls (instance: FastifyInstance): void {
    for (const method of this.#methods) {
      if (instance.hasRoute({ method: method as 'GET', url: '/*' })) this.#addCatchAll(method, '/')
    }
  }

  #addCatchAll (method: string, stem: string): void {
    const stems = this.#catchAlls.get(method) ?? []
    if (!stems.includes(stem)) stems.push(stem)
    this.#catchAlls.set(method, stems)
  }

  /**
   * Whether `params`, what `findRoute` matched for `method` on `path`, come from a catch-all: its
   * stem followed by the `*` parameter is the path. The router decoded the parameter, and may have
   * dropped a trailing slash, merged duplicate slashes or lower-cased the path (its
   * `ignoreTrailingSlash`, `ignoreDuplicateSlashes`, `caseSensitive: false`), so both sides are
   * compared decoded and in `comparable` form.
   */
  isCatchAll (method: string, path: string, params: Record<string, string | undefined>): boolean {
    const stems = this.#catchAlls.get(method)
    const rest = params['*']
    if (stems === undefined || rest === undefined) return false
    // The router matched this path, so its escapes are well-formed: find-my-way answers a malformed
    // one as a bad URL (400) before any route or not-found handler runs, so this cannot throw.
    const whole = comparable(path.includes('%') ? decodeURIComponent(path) : path)
    for (const stem of stems) if (comparable(stem + rest) === whole) return true
    return false
  }

  /** The methods to probe, in the order `Allow` lists them. */
  get methods (): readonly string[] {
    return this.#methods
  }
}

/** A path as the router may have normalised it: single slashes, none at the end, lower case. */
function comparable (path: string): string {
  return path.replace(/\/{2,}/g, '/').replace(/\/+$/, '').toLowerCase()
}

/**
 * The methods the path of `url` is served under (RFC 9110 §10.2.1 `Allow`), excluding `method`;
 * none (a 404) when the path is routed under `method` itself: the not-found handler then runs
 * because the route called `reply.callNotFound()` (what @fastify/static does for a missing file),
 * and the resource, not the method, is what is missing. Catch-all routes never count (see
 * MethodIndex). One `findRoute` per probed method, whatever the number of routes; a 404 (the most
 * common miss) allocates nothing.
 */
export function allowedMethods (instance: FastifyInstance, index: MethodIndex, method: string, url: string): readonly string[] {
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  if (instance.findRoute({ method: method as 'GET', url: path }) !== null) return NONE
  let allowed: string[] | undefined
  for (const candidate of index.methods) {
    if (candidate === method) continue
    const found = instance.findRoute({ method: candidate as 'GET', url: path })
    if (found !== null && !index.isCatchAll(candidate, path, found.params)) (allowed ??= []).push(candidate)
  }
  return allowed ?? NONE
}

const NONE: readonly string[] = Object.freeze([])

/** What lib/thrown.ts reads of a routing 404 and 405: the same for every miss (no message, no headers). */
const NOT_FOUND_FACTS = readThrown(new NotFound())
const METHOD_NOT_ALLOWED_FACTS = readThrown(new MethodNotAllowed())

/**
 * A request no route matched, as a value: a 404, or a 405 when its path is served under other
 * methods. Most misses (bots, scanners) get the default response, which needs only the status, the
 * facts handlers are looked up by and the `Allow` list; an exception made per request (a native
 * `Error`, with its stack) was the largest cost of our own on that path. So a miss stays a value
 * until code of the app's will see it (a handler, a template, a reporter, a 500 handler's `cause`, a
 * failure's log line): `exception()` then makes the request's own `NotFound` or `MethodNotAllowed`,
 * which that code may keep or change without reaching any other request.
 */
export class RoutingMiss {
  /** The status answered: 405 when the path is served under other methods, else 404. */
  readonly status: 404 | 405
  /** What handlers are looked up by: the facts of the exception the miss stands for. */
  readonly facts: ThrownFacts

  private constructor (
    /** The methods the path is served under, in the order `Allow` lists them; none for a 404. */
    readonly allowed: readonly string[]
  ) {
    this.status = allowed.length > 0 ? 405 : 404
    this.facts = allowed.length > 0 ? METHOD_NOT_ALLOWED_FACTS : NOT_FOUND_FACTS
  }

  /** Every 404 is this one frozen value: it holds nothing of the request, so a 404 allocates nothing. */
  static readonly #notRouted: RoutingMiss = Object.freeze(new RoutingMiss(NONE))

  /** The miss of a request whose path is served under the methods `allowed`. */
  static of (allowed: readonly string[]): RoutingMiss {
    return allowed.length > 0 ? new RoutingMiss(allowed) : RoutingMiss.#notRouted
  }

  /** The value of `Allow` for a 405: Fastify's method names, as the router knows them. */
  get allow (): string {
    return this.allowed.join(', ')
  }

  /** The request's own exception, for code that will see or keep it: made anew on every call. */
  exception (): NotFound | MethodNotAllowed {
    return this.allowed.length > 0 ? new MethodNotAllowed(undefined, { validMethods: [...this.allowed] }) : new NotFound()
  }
}

/** A function Fastify calls for requests no route matched. */
export type NotFoundHandler = (request: FastifyRequest, reply: FastifyReply) => void

/**
 * Who answers routing errors under each prefix. Fastify allows one not-found handler per prefix and
 * throws "Not found handler already set" on a second, so the first prefixed context that registers a
 * 404/405 handler claims the prefix and later claimants are told, at startup, that they do not own it.
 * It also keeps each registration's `notFoundHooks` (route hooks run in front of the not-found
 * handlers the plugin installs), and warns once per context about a 404/405 handler that can own
 * nothing.
 */
export class PrefixOwners {
  readonly #owners = new Map<string, FastifyInstance>()
  /** Context → the `notFoundHooks` its registration of the plugin gave; inherited by the contexts below. */
  readonly #hooks = new WeakMap<object, NotFoundHooks>()
  /** Contexts already warned that their 404/405 handler owns no routing URLs. */
  readonly #warned = new WeakSet<object>()
  /** Set by the plugin's onReady hook: after it, no context can claim a prefix. */
  ready = false

  /** Installs `handler` as `instance`'s not-found handler unless its prefix is owned already. */
  claim (instance: FastifyInstance, handler: NotFoundHandler, what: string): void {
    const prefix = instance.prefix
    const owner = this.#owners.get(prefix)
    if (owner === instance) return
    if (owner !== undefined) {
      instance.log.warn(`prefix "${prefix}": routing 404/405s are owned by the context "${owner.pluginName}"; ` +
        `the ${what} handler of "${instance.pluginName}" only sees errors its own routes throw`)
      return
    }
    if (this.ready) throw new FFE_ROUTING_CLAIM_TOO_LATE(what)
    this.install(instance, handler)
  }

  /**
   * Warns, once per context, that a 404/405 handler registered in a child context without a prefix
   * owns no routing URLs: Fastify keys not-found handlers by prefix, and the root's owns `''`, so
   * unknown URLs and wrong methods never reach this context (Flask's blueprints behave the same).
   * Silence would leave the user wondering why the handler never runs. The root itself owns them.
   */
  warnUnowned (instance: FastifyInstance, what: string): void {
    if (this.#owners.get('') === instance || this.#warned.has(instance)) return
    this.#warned.add(instance)
    instance.log.warn(`the ${what} handler of the context "${instance.pluginName}" can own no routing 404/405s: ` +
      'the context has no prefix, so unknown URLs and wrong methods are answered by the root\'s handlers, ' +
      'and this one only sees the errors its own routes throw; ' +
      'give the plugin a prefix (app.register(plugin, { prefix: \'/blog\' })) or register the handler at the root')
  }

  /**
   * Keeps a registration's `notFoundHooks` for `instance` and the contexts below it, before the
   * registration installs or claims. Refused where they would silently run for no request: a
   * context without a prefix installs no not-found handler of its own, and a context that already
   * claimed its prefix has its handler installed without them (Fastify takes route hooks only with
   * `setNotFoundHandler`, once per prefix).
   */
  setHooks (instance: FastifyInstance, hooks: NotFoundHooks): void {
    if (this.#owners.get('') === instance) {
      throw new FFE_INVALID_OPTION('notFoundHooks of the root can only be given where the plugin is first registered: ' +
        'its not-found handler is installed then')
    }
    if (this.#owners.size > 0 && instance.prefix === '') {
      throw new FFE_INVALID_OPTION(`notFoundHooks in the context "${instance.pluginName}", which has no prefix, would run for no request ` +
        '(only the root and prefixed contexts answer routing 404/405s); ' +
        'give them where the plugin is first registered, or in a context registered with a prefix')
    }
    if (this.#owners.get(instance.prefix) === instance) {
      throw new FFE_INVALID_OPTION(`notFoundHooks in the context "${instance.pluginName}" ` +
        `came after it claimed the prefix "${instance.prefix}" ` +
        '(a 404/405 handler registered before the plugin): register the plugin with notFoundHooks first, ' +
        'awaited (await child.register(flaskErrors, { notFoundHooks })), then the handlers')
    }
    this.#hooks.set(instance, hooks)
  }

  /**
   * The context that owns routing errors for `url`: the one with the longest claimed prefix the path
   * lies under, else `fallback`. For errors Fastify raises before routing (a malformed URL), which
   * have no context of their own.
   */
  ownerOf (url: string, fallback: FastifyInstance): FastifyInstance {
    let best: FastifyInstance | undefined
    for (const [prefix, owner] of this.#owners) {
      const under = prefix === '' || url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`)
      if (under && (best === undefined || prefix.length > best.prefix.length)) best = owner
    }
    return best ?? fallback
  }

  /**
   * Sets the not-found handler of `instance`, with the nearest registration's `notFoundHooks` as its
   * route hooks, and records it as the owner of its prefix.
   */
  install (instance: FastifyInstance, handler: NotFoundHandler): void {
    const hooks = this.#hooksOf(instance)
    try {
      // A copy: Fastify replaces the hooks on the options object it is given with bound ones.
      if (hooks === undefined) instance.setNotFoundHandler(handler)
      else instance.setNotFoundHandler({ ...hooks }, handler)
    } catch (error) {
      throw new FFE_NOT_FOUND_HANDLER_TAKEN(instance.prefix === '' ? '/' : instance.prefix, { cause: error })
    }
    this.#owners.set(instance.prefix, instance)
  }

  /** The hooks of the nearest registration: a child context's prototype is its parent (Fastify's `Object.create`). */
  #hooksOf (instance: FastifyInstance): NotFoundHooks | undefined {
    for (let object: object | null = instance; object !== null; object = Object.getPrototypeOf(object) as object | null) {
      const hooks = this.#hooks.get(object)
      if (hooks !== undefined) return hooks
    }
    return undefined
  }
}
