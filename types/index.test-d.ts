/**
 * The ESM declarations, through the package's own name (its `exports` map, `import` condition):
 * registration, keys and the error each handler receives, and every form a handler may return.
 * Options: options.test-d.ts; reports and the mail entry: report.test-d.ts; CommonJS: cjs.test-d.cts.
 */
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import view from '@fastify/view'
import createHttpError from 'http-errors'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import flaskErrors, {
  abort, errorResponses, flaskErrors as namedPlugin, Gone, HTTPException, NotFound, MethodNotAllowed,
  type CodedError, type HandlerResult, type Representation, type StatusError
} from 'fastify-flask-errors'
import * as api from 'fastify-flask-errors'

class InvalidAPIUsage extends Error {
  constructor (message: string, readonly payload: Record<string, unknown> = {}) { super(message) }
  toDict (): Record<string, unknown> { return { ...this.payload, message: this.message } }
}
class UserNotFound extends NotFound {}

const app = Fastify()
await app.register(flaskErrors)
await app.register(namedPlugin, { format: 'json', debug: false, logLevel: 'warn' })
expectType<typeof flaskErrors>(namedPlugin)
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

// Handler results: every form the README's table lists compiles, sync and async…
app.errorhandler(410)(() => '<h1>Gone</h1>')
app.errorhandler(410)(() => ({ gone: true, id: 7 }))
app.errorhandler(410)(() => ({} as Record<string, unknown>))
app.errorhandler(410)(() => [1, 2, 3])
app.errorhandler(410)(() => Buffer.from('bytes'))
app.errorhandler(410)(() => Readable.from(['str', 'eam']))
app.errorhandler(410)(() => new Gone('by the handler'))
app.errorhandler(410)(() => createHttpError(451))
app.errorhandler(410)((error) => error)
app.errorhandler(410)(() => ['teapot', 418])
app.errorhandler(410)(() => ['with header', { 'x-extra': 'yes' }])
app.errorhandler(410)(() => [{ a: 1 }, 451, { 'x-extra': 'both', 'set-cookie': ['a=1', 'b=2'], 'retry-after': 30 }])
app.errorhandler(410)((error, request, reply) => reply.code(410).send('sent'))
app.errorhandler(410)((error, request, reply) => { reply.send('sent') })
app.errorhandler(410)(async () => '<h1>Gone</h1>')
app.errorhandler(410)(async () => ['later', 410])
app.errorhandler(410)(async (error) => error)
app.errorhandler(410)(async (error, request, reply) => { await reply.send('sent') })
app.errorhandler(410)(() => Promise.resolve({ gone: true }))
app.register_error_handler(410, () => ['tuple', 410])
app.registerErrorHandler(410, async () => Buffer.from('bytes'))
// …an error class the app declares with a status passes through, and so does `reply.view`'s reply.
class PaymentFailed extends Error { statusCode = 402 }
app.errorhandler(PaymentFailed)((error) => error)
await app.register(view, { engine: { ejs: {} } })
app.errorhandler(404)((error, request, reply) => reply.view('404.ejs'))
app.errorhandler(404)(async (error, request, reply) => await reply.viewAsync('404.ejs'))
app.errorhandler(500)((error, request, reply) => reply.errorFormat() === 'html' ? ['<h1>Oops</h1>', 500] : error)
expectAssignable<HandlerResult>(['<h1>Oops</h1>', 500] as const)
expectAssignable<HandlerResult>(Promise.resolve(new NotFound()))
expectAssignable<HandlerResult>(undefined as unknown as FastifyReply)

// What fails at run time (a 500, "gave no usable response") does not compile: numbers, booleans,
// null, an error without a status, class instances that are no JSON body, web streams and bare bytes.
expectError(app.errorhandler(410)(() => 42))
expectError(app.errorhandler(410)(async () => 42))
expectError(app.errorhandler(410)(() => Promise.resolve(42)))
expectError(app.errorhandler(410)(() => true))
expectError(app.errorhandler(410)(() => null))
expectError(app.errorhandler(410)(() => 10n))
expectError(app.errorhandler(410)(() => Symbol('x')))
expectError(app.errorhandler(410)(() => new Error('no status')))
expectError(app.errorhandler(410)(() => new Date()))
expectError(app.errorhandler(410)(() => new Map()))
expectError(app.errorhandler(410)(() => new Uint8Array(2)))
expectError(app.errorhandler(410)(() => new ReadableStream()))
expectError(app.errorhandler(410)(() => () => 'a function'))
expectError(app.register_error_handler(410, () => 42))
expectError(app.registerErrorHandler(410, async () => null))
// A class handler returning its error: only when the class carries a status (else the error has none).
class InventoryError extends Error {}
expectError(app.errorhandler(InventoryError)((error: InventoryError) => error))
// A value typed by an interface is not known to be a plain object: spread it into one.
interface User { id: number, name: string }
const user: User = { id: 1, name: 'Ada' }
expectError(app.errorhandler(410)(() => user))
app.errorhandler(410)(() => ({ ...user }))
expectNotAssignable<HandlerResult>(42)
expectNotAssignable<HandlerResult>(Promise.resolve(null))

// The public surface: internals are not exported.
expectError(api.stackCapture)
expectError(api.statusClasses)
expectError(api.isStatusClass)
expectError(api.createReporting)
expectError(api.dispatch)
