#!/usr/bin/env node
// The CLI is written in TypeScript and compiled to dist/ by `npm ci`
// (the `prepare` script) or `npm run build`.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
