// Validates an OpenAPI document read from stdin with @seriousme/openapi-schema-validator (ESM, hence a child
// process under jest). Prints {"valid":bool,"version":...,"errors":[...]} as JSON.
import { Validator } from '@seriousme/openapi-schema-validator';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(input));
console.log(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }));
