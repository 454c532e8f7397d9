// Filling the demo landing page's form as a visitor would, shared by the end-to-end tests.

/** An analytics lead at a 400-person retailer that wants to start now: an SQL. `shot(name)` takes screenshots. */
export async function fillSqlLead(page, shot) {
  await page.fill("#f-email", "ana.rossi@shop.example");
  await page.fill("#f-first_name", "Ana");
  await page.fill("#f-job_title", "Head of Data");
  await page.check("input[name=seniority][value=vp]");
  await page.check("input[name=use_case][value=own_company]");
  await shot?.("1-about-you");
  await page.click(".leadscore-next");
  await page.fill("#f-company", "Shop Srl");
  await page.selectOption("#f-country", "IT");
  await page.selectOption("#f-industry", "ecommerce");
  await page.fill("#f-employees", "400");
  await page.fill("#f-annual_revenue", "30");
  await shot?.("2-company");
  await page.click(".leadscore-next");
  await page.check("input[name=data_sources][value=snowflake]");
  await page.check("input[name=data_sources][value=hubspot]");
  await page.selectOption("#f-current_tool", "in_house");
  await page.fill("#f-budget_monthly", "3000");
  await page.check("input[name=timeline][value=now]");
  await page.check("input[name=decision_maker][value=true]");
  await shot?.("3-project");
  await page.click(".leadscore-next");
  await page.check("input[name=sso_required][value=true]");
  await shot?.("4-enterprise");
  await page.click(".leadscore-next");
  await page.fill("#f-phone", "+39 02 1234 5678");
  await page.check("input[name=callback_time][value=morning]");
  await shot?.("5-contact");
}
