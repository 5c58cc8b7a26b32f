import Fastify, { type FastifyInstance } from 'fastify'
import { expectAssignable, expectError, expectType } from 'tsd'
import flaskErrors, { abort, HTTPException, NotFound, MethodNotAllowed, type StatusError, type CodedError } from '../dist/esm/index.js'

class InvalidAPIUsage extends Error {
  constructor (message: string, readonly payload: Record<string, unknown> = {}) { super(message) }
  toDict (): Record<string, unknown> { return { ...this.payload, message: this.message } }
}
class UserNotFound extends NotFound {}

const app = Fastify()
await app.register(flaskErrors)
await app.register(flaskErrors, { format: 'json', debug: false, logLevel: 'warn' })
expectError(app.register(flaskErrors, { format: 'xml' }))

// reply.abort and abort never return.
app.get('/gone', (request, reply) => {
  expectType<never>(reply.abort(410))
})
expectType<never>(abort(404, 'Resource not found'))
expectType<never>(abort(405, undefined, { validMethods: ['GET'] }))

// The handler's error is the class registered…
app.errorhandler(NotFound)((error) => {
  expectType<NotFound>(error)
  return ['not here', 404]
})
app.errorhandler(UserNotFound)((error) => { expectType<UserNotFound>(error) })
app.errorhandler(MethodNotAllowed)((error) => { expectType<readonly string[]>(error.validMethods) })
app.registerErrorHandler(InvalidAPIUsage, (error) => {
  expectType<InvalidAPIUsage>(error)
  return [error.toDict(), 400]
})
app.register_error_handler(HTTPException, (error) => { expectType<HTTPException>(error) })
app.register_error_handler(Error, (error) => { expectType<Error>(error) })
// …a status error for a number, a coded error for a string.
app.errorhandler(404)((error) => { expectType<StatusError>(error) })
app.errorhandler('FST_ERR_VALIDATION')((error) => { expectType<CodedError>(error) })

// errorhandler returns the handler (Flask's decorator returns the function).
const handler = app.errorhandler(500)(() => '<h1>Oops</h1>')
expectType<() => string>(handler)

// `this` is the Fastify instance of the registering context.
app.errorhandler(400)(function () { expectAssignable<FastifyInstance>(this) })

// What must not compile: keys that are neither status, class nor code; handlers that are not functions.
expectError(app.errorhandler('x' as unknown as object))
expectError(app.errorhandler({}))
expectError(app.errorhandler(null))
expectError(app.register_error_handler(404, 'not a function'))
expectError(app.errorhandler(NotFound)((error: InvalidAPIUsage) => error.payload))
expectError(abort('404'))
