/**
 * lib/describe.ts: describing any value without throwing (log lines, messages, reports), the class
 * and message of a thrown value, the one walk along a cause chain, and an error as a log line's object.
 */
import t from 'tap'
import { causeChain, describe, errorClass, errorMessage, isError, MAX_CAUSES, safeString, serializeError, shown } from '../lib/describe.js'

function revoked (): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

class PaymentError extends Error {}

t.test('describe', async (t) => {
  t.test('strings are quoted and cut at 200 characters', async (t) => {
    t.equal(describe('boom'), '"boom"')
    t.equal(describe(''), '""')
    t.equal(describe('say "hi"\n'), '"say \\"hi\\"\\n"', 'JSON-quoted, so a log line stays one line')
    t.equal(describe('x'.repeat(200)), JSON.stringify('x'.repeat(200)), 'exactly 200: whole')
    t.equal(describe('x'.repeat(201)), JSON.stringify(`${'x'.repeat(200)}…`), '201: cut with an ellipsis')
    t.equal(describe('y'.repeat(10_000)), JSON.stringify(`${'y'.repeat(200)}…`), '10 000: cut at 200 too')
  })

  t.test('other primitives', async (t) => {
    t.equal(describe(undefined), 'undefined')
    t.equal(describe(null), 'null')
    t.equal(describe(42), '42')
    t.equal(describe(NaN), 'NaN')
    t.equal(describe(true), 'true')
    t.equal(describe(10n), '10')
    t.equal(describe(Symbol('boom')), 'Symbol(boom)')
    // eslint-disable-next-line symbol-description -- a Symbol without a description is the case under test
    t.equal(describe(Symbol()), 'Symbol()')
  })

  t.test('functions', async (t) => {
    t.equal(describe(function handler () {}), 'function handler')
    t.equal(describe(class Thing {}), 'function Thing')
    t.equal(describe([() => undefined][0]), 'function ')
  })

  t.test('objects by constructor name, arrays by length', async (t) => {
    t.equal(describe([1, 2, 3]), 'array(3)')
    t.equal(describe([]), 'array(0)')
    t.equal(describe(new Error('x')), 'Error object')
    t.equal(describe(new TypeError('x')), 'TypeError object')
    t.equal(describe({ a: 1 }), 'Object object')
    t.equal(describe(new (class Thing {})()), 'Thing object')
    t.equal(describe(new ([class {}][0])()), 'object', 'an anonymous class')
    t.equal(describe(Object.create(null)), 'object', 'a null-prototype object')
    t.equal(describe({ constructor: { name: 42 } }), 'object', 'a constructor name that is not a string')
    t.equal(describe({ constructor: 'nope' }), 'object')
    t.equal(describe({ secret: 'hunter2' }), 'Object object', 'contents are never printed')
  })

  t.test('hostile values', async (t) => {
    t.equal(describe(new Proxy({}, { get () { throw new Error('trap') } })), 'an unprintable value', 'a Proxy whose getters throw')
    t.equal(describe(new Proxy(() => undefined, { get () { throw new Error('trap') } })), 'an unprintable value', 'a function Proxy')
    t.equal(describe(revoked()), 'an unprintable value', 'a revoked Proxy')
    t.equal(describe(Object.defineProperty({}, 'constructor', { get () { throw new Error('getter') } })), 'an unprintable value')
  })
})

t.test('isError', async (t) => {
  t.ok(isError(new Error('x')))
  t.ok(isError(new (class Custom extends TypeError {})('x')))
  for (const value of [{ message: 'x', stack: 'y' }, 'x', null, undefined, Object.create(null)]) t.notOk(isError(value))
  t.notOk(isError(revoked()), 'a revoked Proxy, without throwing')
  t.notOk(isError(new Proxy({}, { getPrototypeOf () { throw new Error('trap') } })))
})

t.test('shown: a refused value as a message shows it', async (t) => {
  t.equal(shown('x'), '"x"')
  t.equal(shown(42), '42')
  t.equal(shown(NaN), 'NaN', 'not JSON\'s null')
  t.equal(shown(undefined), 'undefined')
  t.equal(shown(['json', 1]), '["json",1]', 'a short list as its JSON')
  t.equal(shown(Array.from({ length: 100 }, () => 'item')), 'array(100)', 'a long one by its length')
  t.equal(shown([10n]), 'array(1)', 'a list without a JSON form')
  t.equal(shown({ user: 'me', pass: 'secret' }), 'Object object', 'an object is never printed')
})

t.test('safeString, errorClass, errorMessage', async (t) => {
  const noProto = Object.create(null) as object
  t.throws(() => String(noProto), TypeError, 'the real input that breaks String()')
  t.equal(safeString(noProto), '[object Object]')
  t.equal(safeString(12), '12')

  t.equal(errorClass(new TypeError('x')), 'TypeError')
  t.equal(errorClass(new PaymentError('x')), 'PaymentError')
  t.equal(errorClass('text'), 'string')
  t.equal(errorClass(undefined), 'undefined')
  t.equal(errorClass(null), 'null')
  t.equal(errorClass(noProto), 'Object')
  t.equal(errorClass({ a: 1 }), 'Object')
  t.equal(errorClass(function named () {}), 'Function')
  t.equal(errorClass(new (class {})()), 'Object', 'anonymous class')

  t.equal(errorMessage(new Error('hi')), 'hi')
  t.equal(errorMessage('thrown string'), 'thrown string')
  t.equal(errorMessage(noProto), '[object Object]')
})

t.test('causeChain: the value, then its causes, up to the limit, stopping at a loop or an unreadable cause', async (t) => {
  t.same(causeChain('thrown'), { links: ['thrown'], end: 'end' })
  const root = new Error('root', { cause: 'a string cause' })
  const top = new Error('top', { cause: root })
  t.same(causeChain(top), { links: [top, root, 'a string cause'], end: 'end' })
  const a = new Error('a')
  const b = new Error('b', { cause: a })
  a.cause = b
  t.same(causeChain(a), { links: [a, b], end: 'loop' }, 'a cyclic chain stops at the first repeat')
  let chain: unknown = 'root'
  for (let i = 20; i > 0; i--) chain = new Error(`level ${i}`, { cause: chain })
  const long = causeChain(chain)
  t.equal(long.links.length, MAX_CAUSES + 1, `the value and ${MAX_CAUSES} causes`)
  t.equal(long.end, 'cut')
  t.equal(causeChain(chain, 2).links.length, 3, 'a smaller limit')
  const hostile = Object.defineProperty(new Error('hostile'), 'cause', { get () { throw new Error('cause getter') } })
  t.same(causeChain(new Error('top', { cause: hostile })).end, 'unreadable')
  const proxy = revoked()
  const walked = causeChain(proxy)
  t.ok(walked.links.length === 1 && walked.links[0] === proxy && walked.end === 'end', 'a revoked Proxy has no cause to read')
})

t.test('serializeError: an error and its causes as plain objects for a log line', async (t) => {
  const root = new Error('root cause', { cause: 'a string cause' })
  const top = Object.assign(new Error('top', { cause: root }), { code: 'E_TOP' })
  const serialized = serializeError(top)
  t.match(serialized, {
    type: 'Error',
    message: 'top',
    code: 'E_TOP',
    stack: /^Error: top\n/,
    cause: { type: 'Error', message: 'root cause', cause: { type: 'string', message: 'a string cause' } }
  })
  t.notOk('code' in (serialized.cause as object), 'no code when the error has none')
  const a = new Error('a')
  const b = new Error('b', { cause: a })
  a.cause = b
  let depth = 0
  for (let node: Record<string, unknown> | undefined = serializeError(a); node !== undefined; node = node.cause as Record<string, unknown> | undefined) depth++
  t.equal(depth, 2, 'a cyclic cause chain ends at the first repeat')
  let chain: unknown = 'root'
  for (let i = 20; i > 0; i--) chain = new Error(`level ${i}`, { cause: chain })
  depth = 0
  for (let node: Record<string, unknown> | undefined = serializeError(chain); node !== undefined; node = node.cause as Record<string, unknown> | undefined) depth++
  t.equal(depth, 9, 'a long chain is cut after 8 causes')
  const noStack = new Error('x')
  noStack.stack = undefined
  t.same(serializeError(noStack), { type: 'Error', message: 'x' })
  const hostile = Object.defineProperty(new Error('m'), 'cause', { get () { throw new Error('cause getter') } })
  t.match(serializeError(hostile), { type: 'Error', message: 'm', unreadable: true }, 'a cause that cannot be read is marked')
})
