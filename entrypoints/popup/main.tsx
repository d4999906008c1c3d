import { render } from 'preact';
import { Popup } from '../../src/ui/popup/popup';
import '../../src/ui/shared/theme.css';
import '../../src/ui/popup/popup.css';

render(<Popup />, document.getElementById('app')!);
// The shell is in the DOM: what bench/popup.bench.ts measures as the first render.
performance.mark('popup-first-render');
