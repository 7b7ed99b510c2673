// Package exam owns tailab's exam workflows, so that the CLI, the dashboard,
// the end-to-end tests and the catalog tests run the same code:
//
//   - binding a session to the grader (Bind, DrawnFaults, LoadSuites,
//     FilterCompetences, the probe registry in Probes and GradeProbes);
//   - grading rounds that store their report (Grader) and what `grade
//     --watch` prints between them (Diff, RoundSummary);
//   - applying faults and solution steps to a candidate's machines
//     (Instances, ApplyDrawnFaults, PrepareSambaTemplates);
//   - proving a lab both ways (VerifyOptions, in phases; Analyse);
//   - the demo's sequence (DemoOptions) and the records it writes.
//
// exam takes typed options and returns errors classed where they arise
// (internal/errclass); it reads no flag and no environment: cmd/tailab
// does, and maps the classes to exit codes once.
package exam
