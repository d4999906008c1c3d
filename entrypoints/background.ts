import { startHub } from '../src/hub/start-hub';

export default defineBackground({ type: 'module', main: () => void startHub() });
