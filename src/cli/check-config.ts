import { parseCommandLine, renderConfigYaml, renderOptionsHelp, OPTIONS_BY_KEY } from '../config/load';

export async function runCheckConfig(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: ispd check-config [--config FILE] [flags]\n\n' + renderOptionsHelp() + '\n');
    return 0;
  }
  const cl = parseCommandLine(argv);
  const get = (key: string) => key.split('.').reduce<any>((o, k) => (o == null ? o : o[k]), cl.config);
  const header = [`effective configuration${cl.configFile ? ` (file ${cl.configFile})` : ''}: OK`];
  process.stdout.write(renderConfigYaml(get, header));
  void OPTIONS_BY_KEY;
  return 0;
}
