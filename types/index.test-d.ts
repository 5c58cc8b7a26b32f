import Fastify, { type FastifyInstance } from 'fastify'
import { expectAssignable, expectError, expectType } from 'tsd'
import flaskErrors, { abort, errorResponses, HTTPException, NotFound, MethodNotAllowed, type StatusError, type CodedError, type Representation } from '../dist/esm/index.js'

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

// A handler beside the key: Flask's decorator takes the key alone.
expectError(app.errorhandler(404, () => 'x'))
expectError(app.errorhandler(NotFound, () => 'x'))
// Keys no thrown value is ever looked up by.
expectError(app.errorhandler(Object))
expectError(app.errorhandler(String))
expectError(app.errorhandler(Number))
expectError(app.errorhandler(Boolean))
expectError(app.errorhandler(Symbol))
expectError(app.errorhandler(BigInt))
expectError(app.register_error_handler(String, () => 'x'))
expectError(app.registerErrorHandler(Object, () => 'x'))
expectError(app.errorhandler('404'))
expectError(app.register_error_handler('500', () => 'x'))
expectError(app.errorhandler('4xx'))
expectError(app.errorhandler('5XX'))
// Codes that only look numeric are codes (PostgreSQL's SQLSTATE), and a code handler's error may carry
// the code on its cause only.
app.errorhandler('23505')((error) => { expectType<CodedError>(error) })
app.errorhandler('ECONNREFUSED')((error) => { expectType<string | undefined>(error.code) })
class MyString extends String {}
app.errorhandler(MyString)((error) => { expectType<MyString>(error) })

// reply.errorFormat(): the representation the default response would take.
app.errorhandler(500)((error, request, reply) => {
  expectType<Representation>(reply.errorFormat())
  expectAssignable<'json' | 'html'>(reply.errorFormat())
  return reply.errorFormat() === 'html' ? '<h1>Oops</h1>' : error
})
expectError(app.get('/x', (request, reply) => reply.errorFormat('json')))

// errorResponses: the 4xx/5xx response entries.
app.get('/users/:id', { schema: { response: { 200: { type: 'object' }, ...errorResponses({ problemDetails: true }) } } }, async () => ({}))
expectType<string>(errorResponses()['4xx'].content['application/json'].schema.$ref)
expectError(errorResponses({ problemDetails: 'yes' }))
