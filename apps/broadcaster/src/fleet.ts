/**
 * The fleet's schedule as one drift-free stream of ticks: tick n is device n mod size's, so that
 * each device publishes every `size × tickMs` with the devices' phases spread evenly over it.
 * `perDeviceMs` is each device's interval (`--interval`), or `undefined` with `totalRate` (load
 * mode: the fleet's readings per second, as `--rate` is without a fleet).
 */
export function fleetTickMs(size: number, { perDeviceMs, totalRate }: { perDeviceMs: number; totalRate: number | undefined }): number {
  return totalRate ? 1000 / totalRate : perDeviceMs / size;
}
