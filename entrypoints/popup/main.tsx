import { render } from 'preact';
import { Popup } from '../../src/ui/popup';
import '../../src/ui/popup.css';

render(<Popup />, document.getElementById('app')!);
