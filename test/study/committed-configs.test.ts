/**
 * Every study config committed under experiments/ loads with its own kind's loader, so a config
 * edited by hand (or prepared for a GPU run no test executes, like experiments/vit-gpu) cannot
 * sit broken until the day it is run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadStudy } from '../../src/study/runner.js';
import { loadPlantedLayerStudy, loadPlantedStudy, loadSweepStudy } from '../../src/vit/study.js';

const experiments = fileURLToPath(new URL('../../../experiments/', import.meta.url));

test('every committed study config loads', () => {
  const files = readdirSync(experiments, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(experiments, d.name)).filter((f) => f === 'study.json' || /^stage-.*\.json$/.test(f)).map((f) => join(experiments, d.name, f)));
  assert.ok(files.length >= 10, `found ${files.length} configs`);
  const kinds = new Set<string>();
  for (const f of files) {
    const kind = (JSON.parse(readFileSync(f, 'utf8')) as { kind?: string }).kind ?? 'simulation';
    kinds.add(kind);
    if (kind === 'vit-sweep') loadSweepStudy(f);
    else if (kind === 'vit-planted') loadPlantedStudy(f);
    else if (kind === 'vit-planted-layer') loadPlantedLayerStudy(f);
    else loadStudy(f);
  }
  for (const k of ['vit-sweep', 'vit-planted', 'vit-planted-layer']) assert.ok(kinds.has(k), `a ${k} config is among them`);
});

test('the prepared GPU sweep is ViT-Tiny sized (width >= 192, depth >= 12)', () => {
  const s = loadSweepStudy(join(experiments, 'vit-gpu/study.json'));
  assert.ok(s.backbone.vit.width >= 192 && s.backbone.vit.depth >= 12, JSON.stringify(s.backbone.vit));
});
