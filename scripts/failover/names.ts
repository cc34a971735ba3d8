/** Names the generated BIRD config and the ip-takeover script agree on. */
export const enum Bird {
  /** Static protocol whose route is exported as is: this POP carries the well-known address. */
  Active = 'vcp_wk',
  /** Static protocol whose route is exported with a prepended AS path: a standby announcement. */
  Backup = 'vcp_wk_backup',
  /** Prefix of the BGP protocols towards the upstream neighbours (vcp_up1, vcp_up2...). */
  UpstreamPrefix = 'vcp_up',
}
