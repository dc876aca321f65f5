/** The registry of subcommands, in the order `prompt-experts --help` lists them. */
import type { Command } from './command.js';
import { moeViewCommand } from './moe-view.js';
import { paramsCommand } from './params.js';
import { simulateCommand } from './simulate.js';
import { kindsCommand } from './kinds.js';
import { mergeCommand } from './merge.js';
import { rescoreCommand } from './rescore.js';
import { recapCommand } from './recap.js';
import { ratesCommand } from './rates.js';
import { vitCommand } from './vit.js';
import { figuresCommand } from './figures.js';

export const commands: Command[] = [moeViewCommand, paramsCommand, simulateCommand, kindsCommand, mergeCommand, rescoreCommand, recapCommand, ratesCommand, figuresCommand, vitCommand];
