/** `prompt-experts moe-view FILE|-`: the exact MoE view of one attention head with a prompt. */
import { InputError } from '../util/errors.js';
import { moeViewOutput, parseMoeViewInput } from '../prompts/contract.js';
import { type Command, parseFlags, readJsonInput } from './command.js';

function fmt(x: number): string {
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(4);
}

export const moeViewCommand: Command = {
  name: 'moe-view',
  summary: 'read one attention head (with VPT, key-value or VAPT prompts) as a mixture of experts',
  help: `Usage: prompt-experts moe-view FILE|- [--json]

Reads one head and its tokens (and optionally a prompt) as JSON from FILE or stdin (-), and
prints its exact mixture-of-experts reading: for every query row the gate probabilities over
the N token experts and the L prompt experts, each expert's output, the reconstruction
sum_j gate_ij f_j and the directly computed attention, with the largest difference, and each
expert's and score's kind (constant / linear / quadratic / nonlinear in X), found numerically.

Input:
  { "X": number[N][d], "WQ": number[d][dk], "WK": number[d][dk], "WV": number[d][dv],
    "prompt": null
      | { "kind": "vpt", "P": number[L][d], "mode": "deep" | "shallow" }
      | { "kind": "kv", "K": number[L][dk], "V": number[L][dv] }
      | { "kind": "vapt", "grid": [H, W], "kernel": number[K][K], "padding": number,
          "alpha": number[L][H'*W'], "bias": number[L], "W1": number[r][d], "W2": number[d][r],
          "residual": boolean, "layerNorm": null | { "gamma": number[d], "beta": number[d] } } }
  vapt: X holds the H*W patch tokens in row-major grid order; H' = H + 2*padding - K + 1;
  LayerNorm eps 1e-6; P = G + W2 relu(W1 G) (residual) or W2 relu(W1 G), G = alpha conv(LN(X)) + bias.

Output with --json (experts: the N token experts, then the L prompt experts; Q = N query rows,
N + L for VPT shallow with the prompt rows last; scores scaled by 1/sqrt(dk)):
  { "gates": number[Q][E], "scores": number[Q][E], "expertOutputs": number[E][dv],
    "output": number[Q][dv], "attention": number[Q][dv], "maxAbsError": number,
    "expertKinds": string[E], "scoreKinds": string[E] }
Without --json: a summary table, one line per expert.

Options:
  --json    print the output document instead of the table
Bad input exits with code 2 and one line on stderr naming the field.
`,
  async run(argv, io) {
    const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } }, 'moe-view');
    const source = positionals[0];
    if (source === undefined) throw new InputError('moe-view arguments', 'an input FILE or - for stdin');
    if (positionals.length > 1) throw new InputError('moe-view arguments', 'one input FILE or -', `${positionals.length} arguments`);
    const input = parseMoeViewInput(readJsonInput(source));
    const out = moeViewOutput(input);
    if (values.json === true) {
      const { view: _view, ...doc } = out;
      io.out(`${JSON.stringify(doc)}\n`);
      return 0;
    }
    const v = out.view;
    const Q = v.gates.rows;
    const E = v.gates.cols;
    const kind = input.prompt === null ? 'none' : input.prompt.kind === 'e2vpt' ? 'kv' : input.prompt.kind;
    const lines: string[] = [];
    lines.push(
      `moe-view: N = ${v.tokens} tokens, L = ${v.prompts} prompt experts (prompt: ${kind}${input.prompt?.kind === 'vpt' ? `, ${input.prompt.mode}` : ''}), ` +
        `Q = ${Q} query rows, d = ${input.X.cols}, dk = ${input.head.WQ.cols}, dv = ${input.head.WV.cols}`,
    );
    lines.push(`max |MoE reconstruction - attention| = ${out.maxAbsError.toExponential(2)}`);
    lines.push('');
    const header = ['expert', 'source', 'expert kind', 'score kind', 'mean gate', 'max gate', '|f_e|'];
    const rows: string[][] = [];
    for (let e = 0; e < E; e++) {
      let mean = 0;
      let mx = 0;
      for (let i = 0; i < Q; i++) {
        const g = v.gates.data[i * E + e] as number;
        mean += g / Q;
        mx = Math.max(mx, g);
      }
      let nrm = 0;
      for (let c = 0; c < v.expertOutputs.cols; c++) nrm += (v.expertOutputs.data[e * v.expertOutputs.cols + c] as number) ** 2;
      rows.push([
        String(e),
        e < v.tokens ? `token ${e}` : `prompt ${e - v.tokens}`,
        out.expertKinds[e] ?? '',
        out.scoreKinds[e] ?? '',
        fmt(mean),
        fmt(mx),
        fmt(Math.sqrt(nrm)),
      ]);
    }
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
    const line = (r: string[]): string => r.map((s, c) => (c < 4 ? s.padEnd(widths[c] ?? 0) : s.padStart(widths[c] ?? 0))).join('  ');
    lines.push(line(header));
    for (const r of rows) lines.push(line(r));
    io.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
