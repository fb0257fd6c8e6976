package console

// pages is the console's navigation, in order: each page lives in its own
// file, which defines its mount function (its routes) and its template
// (docs/console.md §3). A new page is one line here.
var pages = []Page{
	{Path: "functions", Title: "Functions", mount: mountFunctions},
	{Path: "logs", Title: "Logs", mount: mountLogs},
	{Path: "monitoring", Title: "Monitoring", mount: mountMonitoring},
	{Path: "async", Title: "Async", mount: mountAsync},
	{Path: "cluster", Title: "Cluster", mount: mountCluster},
	{Path: "settings", Title: "Settings", mount: mountSettings},
}
