import { render } from 'preact';
import { Diagnostics } from '../../src/ui/diagnostics';

render(<Diagnostics />, document.getElementById('app')!);
