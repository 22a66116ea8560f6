// `npm run bench`: every benchmark, each bounded in time, printing a table.
import { runControlPlaneBench } from "./control-plane.ts";

runControlPlaneBench([10, 1000, 5000, 10000]);
