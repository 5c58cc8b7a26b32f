// Builds dist/esm (the ESM source compiled) and dist/cjs (the same as CommonJS), so the package
// works from `import` and from `require`. In CommonJS, `require('fastify-flask-errors')` returns the
// plugin itself with the named exports on it, the shape Fastify plugins have (`@fastify/sensible`).
import { execFileSync } from 'node:child_process'
import { appendFileSync, rmSync, writeFileSync } from 'node:fs'

const tsc = (project) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' })
rmSync('dist', { recursive: true, force: true })
tsc('tsconfig.build.json')
tsc('tsconfig.cjs.json')
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n')
appendFileSync('dist/cjs/index.js', '\nmodule.exports = Object.assign(exports.default, exports);\n')
