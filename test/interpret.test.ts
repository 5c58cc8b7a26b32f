/**
 * lib/interpret.ts: what a handler's return value means as a response (Flask's make_response), as a
 * pure function — then the same rules through an app, where the reply carries them out.
 */
import t from 'tap'
import { Readable } from 'node:stream'
import { abort } from '../index.js'
import { HTML_TYPE, JSON_TYPE, interpret } from '../lib/interpret.js'
import { build, API } from './helpers.js'

t.test('bodies: a string is HTML, an object or array JSON, a Buffer or stream as it is', async (t) => {
  t.same(interpret('<p>gone</p>', 410), { body: '<p>gone</p>', type: HTML_TYPE, status: 410, headers: undefined })
  t.same(interpret({ gone: true }, 410), { body: '{"gone":true}', type: JSON_TYPE, status: 410, headers: undefined })
  t.same(interpret([1, 2, 3, 4], 410), { body: '[1,2,3,4]', type: JSON_TYPE, status: 410, headers: undefined }, 'four items: JSON, not a tuple')
  t.same(interpret(Object.assign(Object.create(null), { a: 1 }), 404), { body: '{"a":1}', type: JSON_TYPE, status: 404, headers: undefined }, 'a null-prototype object is plain')
  const bytes = Buffer.from('bytes')
  t.same(interpret(bytes, 410), { body: bytes, type: undefined, status: 410, headers: undefined }, 'a Buffer keeps whatever type the handler set')
  const stream = Readable.from(['a'])
  t.equal((interpret(stream, 410) as { body: unknown }).body, stream, 'a stream is sent as it is')
  t.equal((interpret(stream, 410) as { type: unknown }).type, undefined)
})

t.test('tuples: [body, status], [body, headers], [body, status, headers]', async (t) => {
  t.same(interpret(['teapot', 418], 410), { body: 'teapot', type: HTML_TYPE, status: 418, headers: undefined })
  t.same(interpret(['h', { 'x-extra': 'yes' }], 410), { body: 'h', type: HTML_TYPE, status: 410, headers: { 'x-extra': 'yes' } }, 'the reply status stays')
  t.same(interpret([{ a: 1 }, 451, { 'x-extra': 'both' }], 410), { body: '{"a":1}', type: JSON_TYPE, status: 451, headers: { 'x-extra': 'both' } })
  t.same(interpret([[1, 2], { not: 'headers' }, 'third'], 410), { body: '[[1,2],{"not":"headers"},"third"]', type: JSON_TYPE, status: 410, headers: undefined },
    'three items whose second is not a status: JSON')
  t.same(interpret(['a', 'b'], 410), { body: '["a","b"]', type: JSON_TYPE, status: 410, headers: undefined }, 'a second item that is neither: JSON')
  t.same(interpret(['a', 404.5], 410), { body: '["a",404.5]', type: JSON_TYPE, status: 410, headers: undefined }, 'not an integer: not a status')
  t.same(interpret(['a', 600], 410), { body: '["a",600]', type: JSON_TYPE, status: 410, headers: undefined }, 'past 599: not a status')
  t.same(interpret(['a', 404, new Map()], 410), { body: '["a",404,{}]', type: JSON_TYPE, status: 410, headers: undefined }, 'a third that is not a plain object: JSON')
  t.same(interpret(['a'], 410), { body: '["a"]', type: JSON_TYPE, status: 410, headers: undefined }, 'one item: JSON')
})

t.test('status: the tuple\'s, else the reply\'s; never 1xx', async (t) => {
  t.equal((interpret('x', 451) as { status: number }).status, 451, 'the reply status (reply.code, else the error\'s)')
  t.equal((interpret(['x', 200], 451) as { status: number }).status, 200, 'a tuple may answer a success')
  t.equal(interpret(['x', 103], 410), 'answered with status 103; a 1xx status is not a final response')
  t.equal(interpret('x', 101), 'answered with status 101; a 1xx status is not a final response', 'a 1xx the handler set with reply.code')
})

t.test('values that are no response are said to be, with the fix', async (t) => {
  const fix = 'return a string, an object, an HTTPException, a tuple [body, status, headers] or send the reply'
  t.equal(interpret(undefined, 410), `returned undefined: ${fix}`)
  t.equal(interpret(42, 410), `returned 42: ${fix}`)
  t.equal(interpret(new Date(0), 410), `returned Date object: ${fix}`, 'a class instance is not a plain object')
  t.equal(interpret([42, 404], 410), `returned array(2): ${fix}`, 'a tuple whose body is not a body')
  t.equal(interpret({ big: 10n }, 410), 'returned an object that cannot be serialised as JSON (Do not know how to serialize a BigInt)')
  const { proxy, revoke } = Proxy.revocable([] as unknown[], {})
  revoke()
  t.throws(() => interpret(proxy, 410), TypeError, 'a revoked Proxy throws: the caller counts it as the handler\'s failure')
})

t.test('through an app: the reply carries the interpretation out', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  app.register(async (child) => {
    child.errorhandler(410)(() => [{ a: 1 }, 451, { 'x-extra': 'both' }])
    child.get('/tuple', () => abort(410))
  })
  app.register(async (child) => {
    child.errorhandler(410)((error, request, reply) => { reply.code(103); return 'early hints are not an answer' })
    child.get('/informational', () => abort(410))
  })
  const tuple = await app.inject({ url: '/tuple', headers: API })
  t.equal(tuple.statusCode, 451)
  t.equal(tuple.headers['content-type'], JSON_TYPE)
  t.equal(tuple.headers['x-extra'], 'both')
  t.same(tuple.json(), { a: 1 })
  const informational = await app.inject({ url: '/informational', headers: API })
  t.equal(informational.statusCode, 500, 'a 1xx is a handler failure: the built-in 500 answers')
})
