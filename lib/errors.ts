/**
 * The plugin's own errors: programming and configuration mistakes, raised at registration so they
 * show up when the app starts, not when a user hits the broken page. Codes start with `FFE_`.
 */
import createError from '@fastify/error'

/** An `errorhandler` key that is not a status, a class or an error code. */
export const FFE_INVALID_KEY = createError<[string]>('FFE_INVALID_KEY', 'cannot register an error handler for %s', 500, TypeError)

/** `errorhandler(key, handler)`: the decorator takes the key alone and returns the function that registers. */
export const FFE_DECORATOR_TAKES_KEY_ONLY = createError<[string]>('FFE_DECORATOR_TAKES_KEY_ONLY', 'errorhandler takes only the key and returns the decorator: %s', 500, TypeError)

/** A handler that is not a function. */
export const FFE_INVALID_HANDLER = createError<[string]>('FFE_INVALID_HANDLER', 'an error handler must be a function (error, request, reply) => …, got %s', 500, TypeError)

/** A plugin option with a wrong type or value. */
export const FFE_INVALID_OPTION = createError<[string]>('FFE_INVALID_OPTION', 'invalid fastify-flask-errors option: %s', 500, TypeError)

/** A 404/405 handler registered in a prefixed context after the app is ready. */
export const FFE_ROUTING_CLAIM_TOO_LATE = createError<[string]>('FFE_ROUTING_CLAIM_TOO_LATE', 'cannot register a %s handler in a prefixed context after the app is ready: routing errors can no longer be claimed; register it before ready() / listen()', 500)

/** A not-found handler that the application set itself where the plugin needs to install its own. */
export const FFE_NOT_FOUND_HANDLER_TAKEN = createError<[string, { cause: unknown }?]>('FFE_NOT_FOUND_HANDLER_TAKEN', 'a not-found handler is already set for prefix "%s"; remove your setNotFoundHandler and register errorhandler(404) instead', 500)
