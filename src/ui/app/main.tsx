// Entry of the dashboard bundle (scripts/build-ui.mjs): styles, then the app mounted on #app.
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { render } from 'preact';
import { App } from './App.js';

const root = document.getElementById('app');
if (root) render(<App />, root);
