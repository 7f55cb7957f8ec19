import { Module } from '@nestjs/common';
import { DashboardAssets, dashboardAssetsOptions } from './dashboard-assets';
import { DashboardController } from './dashboard.controller';

/**
 * The admin dashboard for federation rounds, served by the api at GET /dashboard: static files
 * from apps/dashboard/public (or DASHBOARD_DIR) plus the vega / vega-lite browser builds at
 * /dashboard/vendor/. Import it into the api's root module; it needs nothing from the api but its
 * `@Public()` marker, and the page talks to the api's /graphql and /api/v1 like any client.
 */
@Module({
  controllers: [DashboardController],
  providers: [{ provide: DashboardAssets, useFactory: () => new DashboardAssets(dashboardAssetsOptions()) }],
})
export class DashboardModule {}
