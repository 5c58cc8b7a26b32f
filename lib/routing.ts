/**
 * Routing errors (DESIGN §7): 404 vs 405, the `Allow` header, and which prefixed context owns the
 * not-found responses under its prefix.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { MethodNotAllowed, NotFound } from './exceptions.js'
import { FFE_NOT_FOUND_HANDLER_TAKEN, FFE_ROUTING_CLAIM_TOO_LATE } from './errors.js'

/**
 * The methods worth probing for a 405. Fastify knows ~30 methods (WebDAV included); probing all on
 * every unknown URL would cost ~10 µs, so we probe the common ones plus any other method a route
 * was actually registered with (seen by an `onRoute` hook, at startup).
 */
export class MethodIndex {
  readonly #methods: string[]

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

  /** The methods to probe, in the order `Allow` lists them. */
  get methods (): readonly string[] {
    return this.#methods
  }
}

/** The methods the path of `url` is served under (RFC 9110 §10.2.1 `Allow`), excluding `method`. */
export function allowedMethods (instance: FastifyInstance, index: MethodIndex, method: string, url: string): string[] {
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  const allowed: string[] = []
  for (const candidate of index.methods) {
    if (candidate !== method && instance.findRoute({ method: candidate as 'GET', url: path }) !== null) allowed.push(candidate)
  }
  return allowed
}

/**
 * The errors of routing misses, made once: most unknown URLs and wrong methods (bots, scanners) get
 * the default response, which only reads the error's class facts, and an exception made per request
 * (a native `Error`) was the largest cost of our own on those paths (issue 6). A 405's `Allow` comes
 * from the request's own methods, never from this shared instance. lib/dispatch.ts gives a handler, a
 * template or a reporter an exception of its own instead (`routingException`), so no code of the
 * app's shares or changes these.
 */
export const UNKNOWN_URL: NotFound = new NotFound()
/** The shared stand-in of every routing 405 (see UNKNOWN_URL). */
export const WRONG_METHOD: MethodNotAllowed = new MethodNotAllowed()

/** The shared stand-in for a routing miss: 405 when the path is served under other methods, else 404. */
export function standIn (allowed: readonly string[]): NotFound | MethodNotAllowed {
  return allowed.length > 0 ? WRONG_METHOD : UNKNOWN_URL
}

/** A routing miss's own exception, for code that will see or keep it. */
export function routingException (allowed: readonly string[]): NotFound | MethodNotAllowed {
  return allowed.length > 0 ? new MethodNotAllowed(undefined, { validMethods: [...allowed] }) : new NotFound()
}

/** A function Fastify calls for requests no route matched. */
export type NotFoundHandler = (request: FastifyRequest, reply: FastifyReply) => void

/**
 * Who answers routing errors under each prefix. Fastify allows one not-found handler per prefix and
 * crashes on a second (DESIGN §10), so the first prefixed context that registers a 404/405 handler
 * claims the prefix and later claimants are told, at startup, that they do not own it.
 */
export class PrefixOwners {
  readonly #owners = new Map<string, FastifyInstance>()
  /** Set by the plugin's onReady hook: after it, no context can claim a prefix. */
  ready = false

  /** Installs `handler` as `instance`'s not-found handler unless its prefix is owned already. */
  claim (instance: FastifyInstance, handler: NotFoundHandler, what: string): void {
    const prefix = instance.prefix
    const owner = this.#owners.get(prefix)
    if (owner === instance) return
    if (owner !== undefined) {
      instance.log.warn(`prefix "${prefix}": routing 404/405s are owned by the context "${owner.pluginName}"; the ${what} handler of "${instance.pluginName}" only sees errors its own routes throw`)
      return
    }
    if (this.ready) throw new FFE_ROUTING_CLAIM_TOO_LATE(what)
    this.install(instance, handler)
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

  /** Sets the not-found handler of `instance` and records it as the owner of its prefix. */
  install (instance: FastifyInstance, handler: NotFoundHandler): void {
    try {
      instance.setNotFoundHandler(handler)
    } catch (error) {
      throw new FFE_NOT_FOUND_HANDLER_TAKEN(instance.prefix === '' ? '/' : instance.prefix, { cause: error })
    }
    this.#owners.set(instance.prefix, instance)
  }
}
