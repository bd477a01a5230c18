/** Entry of app/first.js: the grid's first query, sent before the main bundle runs (first-page.ts). */
import { startFirstPage } from './first-page.ts';

startFirstPage();
