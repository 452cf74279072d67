/** The check catalogue: stable IDs and their stages, in lesson order. The checks themselves are
 * declared in suites/ (each must be listed here, in its stage); docs/CHECKS.md is the page made
 * from both (`npm run catalogue`). */
export const CATALOGUE: ReadonlyArray<{ id: string; stage: string }> = [
  ...['H1', 'H2', 'H3', 'H4'].map((id) => ({ id, stage: '00 host' })),
  ...['C1', 'C2', 'C3'].map((id) => ({ id, stage: '10 containerd' })),
  ...['R1', 'R2', 'R3', 'R4', 'R5', 'R6'].map((id) => ({ id, stage: '20 runc' })),
  ...['N1', 'N2', 'N3'].map((id) => ({ id, stage: '30 nerdctl' })),
  ...['K1', 'K2', 'K3', 'K4'].map((id) => ({ id, stage: '40 cni' })),
];
