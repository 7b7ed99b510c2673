// Package exam owns tailab's exam workflows, so that the CLI, the dashboard,
// the end-to-end tests and the catalog tests run the same code:
//
//   - opening a session and binding it to the grader (OpenSession, Bind,
//     DrawnFaults, LoadSuites, FilterCompetences; the probe registry in
//     Probes and GradeProbes);
//   - grading rounds that store their report (Grader) and what `grade
//     --watch` prints between them (Diff, RoundSummary);
//   - bringing a session up (UpSession, Up) and applying faults and solution
//     steps to a candidate's machines through one binding (Instances,
//     ApplyDrawnFaults, PrepareSambaTemplates);
//   - proving a lab both ways (VerifyOptions, in phases; Analyse);
//   - the demo's sequence (DemoOptions);
//   - what the jury and candidates are handed: records (Record,
//     WriteRecords, PrintPDF), exam statements (Sheets), access sheets and
//     .vv files (AccessSheets, WriteVirtViewerFiles);
//   - checking lab and suite files (ValidateFile) and describing a lab
//     (DescribeLab).
//
// exam takes typed options and returns errors classed where they arise
// (internal/errclass); it reads no flag and no environment: cmd/tailab
// does, and maps the classes to exit codes once.
package exam
